// Package cause writes the alert annotations that carry a row's diagnosis
// (tokenpath:diagnosis{cause}, rules/README.md "Diagnosis"): the cause and
// the numbers it was decided on, and a runbook_url to the README section
// that says what to do about it. The built-in latency alerts (package
// rules) and the SLO burn alerts (package rules/slo) share it, so every
// alert quotes a diagnosis in the same words.
package cause

import "strings"

// RunbookBase is the README section per diagnosis cause that runbook_url
// names (the cause is the anchor; "diagnosis-what-to-do" before a row is
// diagnosed).
const RunbookBase = "https://github.com/ritwikareddykancharla/token-path-observability/blob/main/README.md#"

// Annotation is a Prometheus alert template (one line) that expands to the
// diagnosis of the row that selector selects: "CAUSE: the tail is N× its
// objective, queue P% of the TTFT, W waiting, KV cache K%, …", or "not
// diagnosed yet". selector is a template expression that yields a series
// selector in braces, e.g. `printf "{instance=%q}" $labels.instance`.
func Annotation(selector string) string {
	parts := []string{
		`{{- $sel := ` + selector + ` -}}`,
		`{{- with printf "tokenpath:diagnosis%s == 1" $sel | query }}{{ . | first | label "cause" }}{{ else }}not diagnosed yet{{ end -}}`,
		`{{- with printf "tokenpath:diagnosis_tail:ratio%s" $sel | query }}: the tail is {{ . | first | value | printf "%.1f" }}× its objective{{ end -}}`,
		`{{- with printf "tokenpath:diagnosis_queue_share:ratio%s" $sel | query }}, queue {{ . | first | value | humanizePercentage }} of the TTFT{{ end -}}`,
		`{{- with printf "tokenpath:requests_waiting%s" $sel | query }}, {{ . | first | value }} waiting{{ end -}}`,
		`{{- with printf "tokenpath:kv_cache_usage:ratio%s" $sel | query }}, KV cache {{ . | first | value | humanizePercentage }}{{ end -}}`,
		`{{- with printf "tokenpath:kv_cache_knee:ratio%s" $sel | query }} (knee ≈ {{ . | first | value | humanizePercentage }}){{ end -}}`,
		`{{- with printf "tokenpath:preemptions:rate1m%s" $sel | query }}, {{ . | first | value | printf "%.2g" }} preemptions/s{{ end -}}`,
		`{{- with printf "tokenpath:diagnosis_itl_spike:ratio%s" $sel | query }}, p99 ITL {{ . | first | value | printf "%.1f" }}× p50{{ end -}}`,
		`{{- with printf "tokenpath:diagnosis_front_gap:seconds%s" $sel | query }}, {{ . | first | value | humanizeDuration }} in front of the engine{{ end -}}`,
		`{{- with printf "tokenpath:diagnosis_gpu_memory_bound:ratio%s > 0" $sel | query }}, {{ . | first | value | humanizePercentage }} of its GPUs memory-bound{{ end -}}`,
		`{{- with printf "tokenpath:diagnosis_gpu_compute_bound:ratio%s > 0" $sel | query }}, {{ . | first | value | humanizePercentage }} of its GPUs compute-bound{{ end }}`,
	}
	return strings.Join(parts, "")
}

// RunbookURL is a Prometheus alert template (one line) that expands to
// RunbookBase followed by the cause of the row that selector selects (see
// Annotation).
func RunbookURL(selector string) string {
	return `{{- $sel := ` + selector + ` -}}` +
		`{{- with printf "tokenpath:diagnosis%s == 1" $sel | query }}` + RunbookBase + `{{ . | first | label "cause" }}{{ else }}` + RunbookBase + `diagnosis-what-to-do{{ end }}`
}

// RowSelector is the selector expression of a latency alert's own row: its
// host, server, instance, job and model labels (an absent host selects
// series without one).
const RowSelector = `printf "{host=%q, server=%q, instance=%q, job=%q, model=%q}" $labels.host $labels.server $labels.instance $labels.job $labels.model`

// InstanceSelector selects by host, instance and model only: for alerts on
// the probes' series (server="probe", no job), whose instance is the probed
// server's.
const InstanceSelector = `printf "{host=%q, instance=%q, model=%q}" $labels.host $labels.instance $labels.model`

// ServerSelector selects by host, server, instance and model: for alerts
// on a server's own series without a job label.
const ServerSelector = `printf "{host=%q, server=%q, instance=%q, model=%q}" $labels.host $labels.server $labels.instance $labels.model`
