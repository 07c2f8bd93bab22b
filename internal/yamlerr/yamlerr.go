// Package yamlerr rewrites the YAML decoders' error messages for users: the
// decoders name the Go type a value was decoded into ("field api_kind not found
// in type probe.Config", "cannot unmarshal !!str `x` into config.plain"),
// which means nothing to someone editing a configuration file. The line and
// the field stay; the Go type goes.
package yamlerr

import (
	"regexp"
	"strings"
)

var (
	// notFoundInType is "field X not found in type T"; T runs to the end of
	// the line (yaml.v3 prints whole struct literals, spaces and quotes
	// included).
	notFoundInType = regexp.MustCompile(`(field \S+ not found) in type [^\n]*`)
	// unmarshalInto is "cannot unmarshal !!tag `value` into T".
	unmarshalInto = regexp.MustCompile("(cannot unmarshal !!\\w+(?: `[^`\n]*`)?) into ([^\n]*)")
)

// Message returns msg without Go type names.
func Message(msg string) string {
	msg = notFoundInType.ReplaceAllString(msg, "$1")
	return unmarshalInto.ReplaceAllStringFunc(msg, func(m string) string {
		sub := unmarshalInto.FindStringSubmatch(m)
		return sub[1] + " into " + describe(sub[2])
	})
}

// describe names what a Go type expects in YAML terms.
func describe(goType string) string {
	t := strings.TrimLeft(strings.TrimSpace(goType), "*")
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "struct"), strings.Contains(t, "."):
		// A package-qualified name is one of the configuration's sections;
		// the types that take scalars (durations, sizes, URLs) unmarshal
		// themselves and report the bad value instead.
		return "a mapping"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "bool":
		return "true or false"
	case t == "string":
		return "a string"
	}
	return "a value of another kind"
}

// Clean returns err with its message rewritten by Message; nil stays nil.
// The original error is kept for errors.Is and errors.As.
func Clean(err error) error {
	if err == nil {
		return nil
	}
	msg := Message(err.Error())
	if msg == err.Error() {
		return err
	}
	return &cleaned{msg: msg, err: err}
}

type cleaned struct {
	msg string
	err error
}

func (c *cleaned) Error() string { return c.msg }
func (c *cleaned) Unwrap() error { return c.err }
