package yamlerr

import (
	"errors"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMessage(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{
			name: "unknown field, yaml.v2",
			in:   "yaml: unmarshal errors:\n  line 9: field scrape_intervall not found in type config.ScrapeConfig",
			want: "yaml: unmarshal errors:\n  line 9: field scrape_intervall not found",
		},
		{
			name: "unknown field, yaml.v3 struct literal",
			in:   "yaml: unmarshal errors:\n  line 2: field probez not found in type struct { Tokenpath server.Extensions \"yaml:\\\"tokenpath\\\"\" }\n  line 3: field x not found in type probe.Config",
			want: "yaml: unmarshal errors:\n  line 2: field probez not found\n  line 3: field x not found",
		},
		{name: "scalar for a section", in: "line 3: cannot unmarshal !!str `often` into config.plain", want: "line 3: cannot unmarshal !!str `often` into a mapping"},
		{name: "scalar for a list", in: "line 4: cannot unmarshal !!str `x` into []*config.ScrapeConfig", want: "line 4: cannot unmarshal !!str `x` into a list"},
		{name: "string for an int", in: "line 5: cannot unmarshal !!str `many` into int", want: "line 5: cannot unmarshal !!str `many` into an integer"},
		{name: "mapping for a string", in: "line 6: cannot unmarshal !!map into string", want: "line 6: cannot unmarshal !!map into a string"},
		{name: "nothing to clean", in: `not a valid duration string: "often"`, want: `not a valid duration string: "often"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Message(tc.in))
		})
	}
}

func TestCleanKeepsTheCause(t *testing.T) {
	require.NoError(t, Clean(nil))
	err := Clean(errors.Join(fs.ErrNotExist, errors.New("field a not found in type x.Y")))
	require.EqualError(t, err, "file does not exist\nfield a not found")
	require.ErrorIs(t, err, fs.ErrNotExist)
	plain := errors.New("plain")
	require.Same(t, plain, Clean(plain))
}
