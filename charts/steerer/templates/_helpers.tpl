{{/* Names, labels and shared fragments of Steerer's chart. */}}

{{- define "steerer.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" }}
{{- end }}

{{- define "steerer.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "steerer.controller.name" -}}{{ include "steerer.fullname" . }}-controller{{- end }}
{{- define "steerer.webhook.name" -}}{{ include "steerer.fullname" . }}-webhook{{- end }}
{{- define "steerer.webhook.secret" -}}{{ include "steerer.fullname" . }}-webhook-tls{{- end }}
{{/* One name for the Mutating and the Validating WebhookConfiguration. */}}
{{- define "steerer.webhook.configName" -}}{{ include "steerer.fullname" . }}-webhook{{- end }}
{{/* The webhook runs in the cluster unless webhook.url points elsewhere. */}}
{{- define "steerer.webhook.inCluster" -}}
{{- if and .Values.webhook.enabled (not .Values.webhook.url) }}true{{ end }}
{{- end }}

{{- define "steerer.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "steerer.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Labels of every object: .root is the chart context, .component controller or webhook. */}}
{{- define "steerer.labels" -}}
helm.sh/chart: {{ include "steerer.chart" .root }}
{{ include "steerer.selectorLabels" . }}
app.kubernetes.io/version: {{ default .root.Chart.AppVersion .root.Values.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: steerer
{{- end }}

{{- define "steerer.selectorLabels" -}}
app.kubernetes.io/name: {{ include "steerer.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end }}

{{/* The container securityContext both processes run with. */}}
{{- define "steerer.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "steerer.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
fsGroup: 1000
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
The caBundle Steerer's webhook already published for one webhook, so that `helm upgrade`
does not wipe it: .root, .kind (Mutating/ValidatingWebhookConfiguration), .webhook (its name).
Empty on a first install and under `helm template` (lookup has no cluster there).
*/}}
{{- define "steerer.webhook.caBundle" -}}
{{- $config := lookup "admissionregistration.k8s.io/v1" .kind "" (include "steerer.webhook.configName" .root) }}
{{- $bundle := "" }}
{{- range (dig "webhooks" (list) ($config | default dict)) }}
{{- if eq (dig "name" "" .) $.webhook }}
{{- $bundle = dig "clientConfig" "caBundle" "" . }}
{{- end }}
{{- end }}
{{- $bundle }}
{{- end }}

{{/* clientConfig of one webhook: .root, .kind, .webhook (name), .path. */}}
{{- define "steerer.webhook.clientConfig" -}}
{{- if .root.Values.webhook.url }}
url: {{ printf "%s%s" (trimSuffix "/" .root.Values.webhook.url) .path | quote }}
{{- else }}
service:
  namespace: {{ .root.Release.Namespace }}
  name: {{ include "steerer.webhook.name" .root }}
  path: {{ .path }}
  port: 443
{{- end }}
{{- $bundle := include "steerer.webhook.caBundle" . }}
{{- if $bundle }}
caBundle: {{ $bundle }}
{{- end }}
{{- end }}

{{/*
namespaceSelector of every webhook: never the release namespace (the webhook must not
guard its own namespace), only the watched namespace when one is set, plus
webhook.namespaceSelector.
*/}}
{{- define "steerer.webhook.namespaceSelector" -}}
{{- $extra := .Values.webhook.namespaceSelector | default dict }}
{{- with $extra.matchLabels }}
matchLabels:
  {{- toYaml . | nindent 2 }}
{{- end }}
matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values: [{{ .Release.Namespace | quote }}]
  {{- if .Values.namespace }}
  - key: kubernetes.io/metadata.name
    operator: In
    values: [{{ .Values.namespace | quote }}]
  {{- end }}
  {{- with $extra.matchExpressions }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}
