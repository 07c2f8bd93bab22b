Licences of the third-party Go modules compiled into tokenpath
==============================================================

Generated from go.mod by `make third-party-licenses` (github.com/google/go-licenses, the
packages of ./cmd/tokenpath on linux). Do not edit by hand: `make check-third-party-licenses`
fails when this file is not what the tool generates. tokenpath's own licence is LICENSE.
{{ range . }}
================================================================================
{{ .Name }}{{ if .Version }} {{ .Version }}{{ end }}
Licence: {{ .LicenseName }}
--------------------------------------------------------------------------------
{{ .LicenseText }}
{{- end }}
