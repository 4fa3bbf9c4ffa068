{{/* Names and labels shared by every object of the chart. */}}

{{- define "ao.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-<chart>, or the release name alone when it already contains the chart name. */}}
{{- define "ao.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "ao.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "ao.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels of one component: include "ao.selector" (list . "app") */}}
{{- define "ao.selector" -}}
{{- $ctx := index . 0 -}}
app.kubernetes.io/name: {{ include "ao.name" $ctx }}
app.kubernetes.io/instance: {{ $ctx.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* Labels that make kube-prometheus-stack select a ServiceMonitor, PrometheusRule or AlertmanagerConfig. */}}
{{- define "ao.monitoringLabels" -}}
{{ include "ao.labels" . }}
{{- with .Values.monitoring.labels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "ao.appSecret" -}}
{{- default (printf "%s-app" (include "ao.fullname" .)) .Values.app.existingSecret }}
{{- end }}

{{/* Where the service sends spans (OTLP/HTTP base URL). */}}
{{- define "ao.otlpEndpoint" -}}
{{- if .Values.collector.enabled -}}
http://{{ include "ao.fullname" . }}-collector:4318
{{- else -}}
{{- required "collector.enabled=false needs app.otlpEndpoint (an OTLP/HTTP base URL)" .Values.app.otlpEndpoint }}
{{- end }}
{{- end }}

{{/* Restricted pod security (non-root, no privilege escalation, no capabilities, RuntimeDefault seccomp). */}}
{{- define "ao.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* The rendered rule groups of one generated file, with this release's namespace filled in. */}}
{{- define "ao.ruleGroups" -}}
{{- $ctx := index . 0 -}}
{{- $ctx.Files.Get (index . 1) | replace "__RELEASE_NAMESPACE__" $ctx.Release.Namespace }}
{{- end }}

{{/* The Secret holding the synthetic probe's key (PROBE_API_KEY). */}}
{{- define "ao.probeSecret" -}}
{{- default (printf "%s-probe" (include "ao.fullname" .)) .Values.probe.existingSecret }}
{{- end }}
