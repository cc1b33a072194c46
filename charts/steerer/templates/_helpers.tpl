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

{{/*
The image of both processes. Only the Deployments include it (the controller's when
controller.enabled, the webhook's when it runs in the cluster), so an install that renders
neither needs no image. There is no published image: without image.repository the
install fails here, before anything is created, instead of starting pods that can never
pull.
*/}}
{{- define "steerer.image" -}}
{{- if not .Values.image.repository }}
{{- fail "steerer: set image.repository (and image.tag) to an image built from this repository's Dockerfile: there is no published image yet. See charts/steerer/README.md#image" }}
{{- end }}
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

{{/*
A duration value (values.schema.json has checked its syntax, e.g. 1m30s or 500ms) in
milliseconds, for range checks the schema cannot express.
*/}}
{{- define "steerer.durationMs" -}}
{{- $units := dict "ms" 1.0 "s" 1000.0 "m" 60000.0 "h" 3600000.0 }}
{{- $total := 0.0 }}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?(ms|s|m|h)" (toString .) -1 }}
{{- $unit := regexFind "(ms|s|m|h)$" . }}
{{- $total = addf $total (mulf (float64 (trimSuffix $unit .)) (get $units $unit)) }}
{{- end }}
{{- $total }}
{{- end }}

{{/*
Fails unless .value (a duration, named .name) is between .min and .max, or zero when
.zero names what zero means.
*/}}
{{- define "steerer.durationBetween" -}}
{{- $ms := float64 (include "steerer.durationMs" .value) }}
{{- $inRange := and (ge $ms (float64 (include "steerer.durationMs" .min))) (le $ms (float64 (include "steerer.durationMs" .max))) }}
{{- if not (or $inRange (and .zero (eq $ms 0.0))) }}
{{- $zero := ternary (printf "0s (%s) or " .zero) "" (not (empty .zero)) }}
{{- fail (printf "steerer: %s must be %sbetween %s and %s, got %s" .name $zero .min .max .value) }}
{{- end }}
{{- end }}
