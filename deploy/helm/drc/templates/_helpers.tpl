{{- define "drc.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "drc.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "drc.labels" -}}
app.kubernetes.io/name: {{ include "drc.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "drc.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "drc.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "drc.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The secrets drc reads itself through the API (dockerconfigjson): the resourceNames of the secrets rule. */}}
{{- define "drc.apiSecretNames" -}}
{{- $names := list -}}
{{- with .Values.secrets.registry.authSecret }}{{ $names = append $names . }}{{ end -}}
{{- if .Values.secrets.registry.readDominoRegistrySecret }}{{ $names = append $names "domino-registry" }}{{ end -}}
{{- toJson (uniq $names) -}}
{{- end -}}

{{/* Environment: CONFIG_FILE, oclif dirs on /tmp, and every credential as a secretKeyRef (never a literal). */}}
{{- define "drc.env" -}}
- name: CONFIG_FILE
  value: /etc/drc/drc.config.yaml
- name: HOME
  value: /tmp
- name: XDG_CACHE_HOME
  value: /tmp/cache
- name: XDG_STATE_HOME
  value: /tmp/state
{{- with .Values.secrets.mongodb }}
{{- if .existingSecret }}
- name: MONGODB_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ .existingSecret | quote }}, key: {{ .passwordKey | quote }}}
{{- if .usernameKey }}
- name: MONGODB_USERNAME
  valueFrom:
    secretKeyRef: {name: {{ .existingSecret | quote }}, key: {{ .usernameKey | quote }}}
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.secrets.keycloak }}
{{- if .existingSecret }}
- name: KEYCLOAK_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ .existingSecret | quote }}, key: {{ .passwordKey | quote }}}
{{- end }}
{{- end }}
{{- with .Values.secrets.registry }}
{{- if .existingSecret }}
- name: REGISTRY_USERNAME
  valueFrom:
    secretKeyRef: {name: {{ .existingSecret | quote }}, key: {{ .usernameKey | quote }}}
- name: REGISTRY_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ .existingSecret | quote }}, key: {{ .passwordKey | quote }}}
{{- end }}
{{- if .authSecret }}
- name: REGISTRY_AUTH_SECRET
  value: {{ .authSecret | quote }}
{{- end }}
{{- end }}
{{- with .Values.secrets.s3 }}
{{- if .existingSecret }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef: {name: {{ .existingSecret | quote }}, key: {{ .accessKeyIdKey | quote }}}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef: {name: {{ .existingSecret | quote }}, key: {{ .secretAccessKeyKey | quote }}}
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
The pod template of every drc run. Call with (dict "root" $ "name" <container name> "args" <list>).
Read-only root: /tmp (HOME, oclif cache) and the reports directory are the only writable paths.
*/}}
{{- define "drc.podSpec" -}}
{{- $root := .root -}}
{{- with $root.Values -}}
serviceAccountName: {{ include "drc.serviceAccountName" $root }}
automountServiceAccountToken: true
restartPolicy: Never
{{- with .imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .podSecurityContext | nindent 2 }}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: {{ $.name }}
    image: {{ include "drc.image" $root | quote }}
    imagePullPolicy: {{ .image.pullPolicy }}
    # Strings, always: `--set flags={--days,90}` would otherwise give the container an integer argument.
    args:
      {{- range $.args }}
      - {{ . | toString | quote }}
      {{- end }}
    env:
      {{- include "drc.env" $root | nindent 6 }}
    resources:
      {{- toYaml .resources | nindent 6 }}
    securityContext:
      {{- toYaml .securityContext | nindent 6 }}
    volumeMounts:
      - name: config
        mountPath: /etc/drc
        readOnly: true
      - name: tmp
        mountPath: /tmp
      - name: reports
        mountPath: {{ .reports.mountPath }}
volumes:
  - name: config
    configMap:
      name: {{ include "drc.fullname" $root }}-config
  - name: tmp
    emptyDir:
      sizeLimit: {{ .tmp.sizeLimit }}
  - name: reports
  {{- if .reports.persistence.enabled }}
    persistentVolumeClaim:
      claimName: {{ default (printf "%s-reports" (include "drc.fullname" $root)) .reports.persistence.existingClaim }}
  {{- else }}
    emptyDir: {}
  {{- end }}
{{- end -}}
{{- end -}}
