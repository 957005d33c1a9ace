{{- define "payments.labels" -}}
app.kubernetes.io/name: payments
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ default .Chart.AppVersion .Values.image.tag | quote }}
app.kubernetes.io/part-of: shop
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}

{{- define "payments.selectorLabels" -}}
app.kubernetes.io/name: payments
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
