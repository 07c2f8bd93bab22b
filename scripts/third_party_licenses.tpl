Licences of the third-party Go modules compiled into tokenpath
==============================================================

Generated from go.mod by `make third-party-licenses` (github.com/google/go-licenses, the
packages of ./cmd/tokenpath on linux). Do not edit by hand: `make check-third-party-licenses`
fails when this file is not what the tool generates. The NOTICE files these modules ship
follow the licences. tokenpath's own licence is LICENSE; the uPlot code in the web UI's
bundle (not a Go module) is MIT-licensed, see NOTICE.
{{ range . }}
================================================================================
{{ .Name }}{{ if .Version }} {{ .Version }}{{ end }}
Licence: {{ .LicenseName }}
--------------------------------------------------------------------------------
{{ .LicenseText }}
{{- end }}
