{{/* The chart's name, or nameOverride. */}}
{{- define "landfall.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's objects. A release named like the chart ("landfall") is
not repeated: "landfall", not "landfall-landfall".
*/}}
{{- define "landfall.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels of every object; each adds its app.kubernetes.io/component where it has one. */}}
{{- define "landfall.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "landfall.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: landfall
{{- end }}

{{/* Labels that select the controller's pods: they must never change on upgrade. */}}
{{- define "landfall.selectorLabels" -}}
app.kubernetes.io/name: {{ include "landfall.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end }}

{{- define "landfall.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "landfall.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image reference: a digest wins over a tag, and the tag defaults to appVersion. */}}
{{- define "landfall.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The namespaces the controller watches in restricted mode: its own (for the Lease, and for
Repositories and Applications kept next to it) and rbac.namespaces. Empty: cluster-wide.
*/}}
{{- define "landfall.watchNamespaces" -}}
{{- if .Values.rbac.namespaces }}
{{- prepend .Values.rbac.namespaces .Release.Namespace | uniq | join "," }}
{{- end }}
{{- end }}

{{/*
The rules Landfall needs for its own work, wherever its kinds live: read and write its
kinds and their status, set finalizers, use Secrets by name, and record Events. Events go
through two APIs: events.k8s.io for Landfall's kinds, core for leader election.
*/}}
{{- define "landfall.ownRules" -}}
- apiGroups: [landfall.dev]
  resources: [repositories, applications, previews, notifications]
  verbs: [get, list, watch, update, patch]
# A Preview creates and deletes one Repository and one Application per pull request.
- apiGroups: [landfall.dev]
  resources: [repositories, applications]
  verbs: [create, delete]
- apiGroups: [landfall.dev]
  resources: [repositories/status, applications/status, previews/status, notifications/status]
  verbs: [get, update, patch]
# Finalizers and owner references with blockOwnerDeletion need update on */finalizers.
- apiGroups: [landfall.dev]
  resources: [repositories/finalizers, applications/finalizers, previews/finalizers]
  verbs: [update]
# Secrets by name: Landfall reads the credentials Secrets Repositories and clusters name and
# the decryption Secrets Applications name, the target Secrets Notifications name, and keeps each environment's last healthy
# revision in a Secret next to its Application, so a rollback works while Git is
# unreachable. It lists and watches only the webhook Secrets Repositories name, each on its
# own (a field selector on its name), so every replica verifies deliveries without a
# request each; RBAC cannot narrow list and watch to names it does not know, so the grant
# is wider than that use.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, update]
# valuesFrom: Landfall watches the metadata of ConfigMaps and Secrets (never their data) to
# render again when one an Application takes Helm values from changes, and reads that one
# (as the Application's ServiceAccount when it has one).
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
# An Application with spec.serviceAccountName (or the default ServiceAccount) deploys as that
# ServiceAccount: Landfall checks that it exists (from a watch of ServiceAccounts' metadata,
# not a request per sync), then impersonates it.
- apiGroups: [""]
  resources: [serviceaccounts]
  verbs: [get, list, watch, impersonate]
{{- end }}

{{/* Rules on TenantPolicies: cluster-scoped, so always in a ClusterRole. */}}
{{- define "landfall.tenantRules" -}}
- apiGroups: [landfall.dev]
  resources: [tenantpolicies]
  verbs: [get, list, watch]
- apiGroups: [landfall.dev]
  resources: [tenantpolicies/status]
  verbs: [get, update, patch]
{{- end }}

{{/*
landfall.sharded is "true" when the replicas share the objects out (more than one, and
sharding on), empty otherwise.
*/}}
{{- define "landfall.sharded" -}}
{{- if and .Values.sharding (gt (int .Values.replicas) 1) }}true{{ end }}
{{- end }}
