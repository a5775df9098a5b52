{{/* The release's base name, at most 63 characters. */}}
{{- define "writ.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "writ.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "issuer"). */}}
{{- define "writ.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "writ.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "writ.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "writ.fullname" .)) -}}
{{- end -}}

{{- define "writ.issuer" -}}
{{- .Values.issuer | default (printf "https://%s" .Values.ingress.host) -}}
{{- end -}}

{{/* The environment every Writ process shares: settings, then the secrets. */}}
{{- define "writ.env" -}}
- name: WRIT_ADDR
  value: "0.0.0.0:8080"
- name: WRIT_METRICS_ADDR
  value: {{ printf "0.0.0.0:%d" (int .Values.metrics.port) | quote }}
- name: WRIT_METRICS_ORG_LABELS
  value: {{ .Values.metrics.orgLabels | quote }}
- name: WRIT_TRUSTED_PROXIES
  value: {{ join "," .Values.trustedProxies | quote }}
- name: WRIT_ISSUER
  value: {{ include "writ.issuer" . | quote }}
- name: WRIT_AUTO_MIGRATE
  value: "false"
- name: WRIT_DATA_DIR
  value: /tmp/writ
- name: WRIT_REDIS_PREFIX
  value: {{ .Values.redis.prefix | quote }}
- name: WRIT_REDIS_CLUSTER
  value: {{ .Values.redis.cluster | quote }}
{{- range $name, $value := .Values.settings }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- with .Values.otel.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- $secret := include "writ.secretName" . }}
{{- range $env, $key := dict "WRIT_DATABASE_URL" .Values.secrets.keys.databaseUrl "WRIT_REDIS_URL" .Values.secrets.keys.redisUrl "WRIT_KEK" .Values.secrets.keys.kek "WRIT_PEPPER" .Values.secrets.keys.pepper }}
- name: {{ $env }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $key }}
{{- end }}
{{- end -}}

{{/* The pod-level settings every Writ pod shares. */}}
{{- define "writ.podSpec" -}}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
