#!/usr/bin/env bash
# Registers (or updates) the Sovereign MCP application in Microsoft Entra ID from infra/entra/app-manifest.json:
# the app roles Mcp.Reader, Mcp.Operator and Mcp.Approver (people only), the delegated scope Mcp.Access, v2 access
# tokens, the auth_time claim in ID tokens (the approval page needs it) and ID-token sign-in for App Service
# Authentication. Then it sets the Application ID URI api://<client id>, creates the service principal with user
# assignment required (only people and apps given a role get a token), and prints the values for
# infra/main.parameters.json.
#
# Safe to run again: it finds the registration by --app-id or by display name and brings it up to date, keeping what
# was added since (redirect URIs, pre-authorised client applications, extra Application ID URIs: merge-app.mjs reads
# the current registration and merges it with the manifest before the one PATCH).
# Needs the Azure CLI signed in (az login) as someone who may register applications in the tenant
# (Application Administrator, Cloud Application Administrator, or the owner of an existing registration), and Node.js
# (a prerequisite of this repository) for the merge.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: infra/entra/register-app.sh [options]

Registers or updates the Sovereign MCP app registration in Entra ID and prints the values to put in
infra/main.parameters.json.

Options:
  --name NAME             Display name of the registration (default: "Sovereign MCP").
  --app-id CLIENT_ID      Update this existing registration instead of looking it up by name.
  --identifier-uri URI    An extra Application ID URI (api://... or https://... on a verified domain).
                          api://<client id> is always set: the app advertises scopes under it.
  --redirect-host HOST    Host name that App Service Authentication signs people in on, for example
                          func-sovmcp-abcd1234.azurewebsites.net (the deployment's signInRedirectUris output).
                          Adds https://HOST/.auth/login/aad/callback. Repeat for the API Management gateway.
  --federated-identity PRINCIPAL_ID
                          On-behalf-of mode (azureCallsAs: caller): adds a federated identity credential that
                          trusts the app's managed identity (the deployment's identityPrincipalId output), so the
                          app proves itself to Entra without a secret.
  --auth-contexts         Step-up (the department policy's stepUp): creates or updates the Conditional Access
                          authentication contexts in infra/entra/conditional-access/authentication-contexts.json.
                          The policies that issue them are applied separately (infra/README.md, Step-up).
  -h, --help              Show this help.

Typical use:
  infra/entra/register-app.sh                          # step 1, before the first deployment
  infra/entra/register-app.sh --app-id <client id> \
      --redirect-host <functionAppHostName>            # after the deployment, for the approval sign-in
EOF
}

die() {
  echo "register-app.sh: $*" >&2
  exit 1
}

NAME="Sovereign MCP"
APP_ID=""
FEDERATED_PRINCIPAL=""
AUTH_CONTEXTS=false
EXTRA_URIS=()
REDIRECT_HOSTS=()

while [ $# -gt 0 ]; do
  case "$1" in
    --name)
      [ $# -ge 2 ] || { usage >&2; exit 2; }
      NAME="$2"
      shift 2
      ;;
    --app-id)
      [ $# -ge 2 ] || { usage >&2; exit 2; }
      APP_ID="$2"
      shift 2
      ;;
    --identifier-uri)
      [ $# -ge 2 ] || { usage >&2; exit 2; }
      EXTRA_URIS+=("$2")
      shift 2
      ;;
    --redirect-host)
      [ $# -ge 2 ] || { usage >&2; exit 2; }
      REDIRECT_HOSTS+=("$2")
      shift 2
      ;;
    --federated-identity)
      [ $# -ge 2 ] || { usage >&2; exit 2; }
      FEDERATED_PRINCIPAL="$2"
      shift 2
      ;;
    --auth-contexts)
      AUTH_CONTEXTS=true
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      echo "register-app.sh: unknown option: $1" >&2
      usage >&2
      exit 2
      ;;
  esac
done

GUID_RE='^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
HOST_RE='^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$'

[ -n "${NAME// /}" ] || die "--name must not be empty"
if [ -n "$APP_ID" ] && ! [[ "$APP_ID" =~ $GUID_RE ]]; then
  die "--app-id must be a client id (GUID), got: $APP_ID"
fi
if [ -n "$FEDERATED_PRINCIPAL" ] && ! [[ "$FEDERATED_PRINCIPAL" =~ $GUID_RE ]]; then
  die "--federated-identity must be the managed identity's principal (object) id, a GUID, got: $FEDERATED_PRINCIPAL"
fi
for uri in "${EXTRA_URIS[@]+"${EXTRA_URIS[@]}"}"; do
  [[ "$uri" =~ ^(api|https)://[^[:space:]]+$ ]] || die "--identifier-uri must start with api:// or https://, got: $uri"
done
for host in "${REDIRECT_HOSTS[@]+"${REDIRECT_HOSTS[@]}"}"; do
  [[ "$host" =~ $HOST_RE ]] || die "--redirect-host must be a host name without scheme or path, got: $host"
done

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MANIFEST="$HERE/app-manifest.json"
MERGE="$HERE/merge-app.mjs"
[ -f "$MANIFEST" ] || die "cannot find $MANIFEST"
[ -f "$MERGE" ] || die "cannot find $MERGE"
command -v az >/dev/null 2>&1 || die "the Azure CLI (az) is not installed"
command -v node >/dev/null 2>&1 || die "Node.js (node) is needed to merge the manifest with the current registration without losing redirect URIs or pre-authorised applications; install Node.js 20 or later (a prerequisite of this repository)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
TENANT_ID="$(az account show --query tenantId --output tsv 2>/dev/null)" || die "sign in first: az login"
GRAPH="$(az cloud show --query endpoints.microsoftGraphResourceId --output tsv)"
GRAPH="${GRAPH%/}"

# 1. Find or create the registration.
if [ -n "$APP_ID" ]; then
  az ad app show --id "$APP_ID" --query appId --output tsv >/dev/null 2>&1 || die "no app registration with client id $APP_ID in tenant $TENANT_ID"
else
  FOUND="$(az ad app list --display-name "$NAME" --query "[].appId" --output tsv)"
  COUNT="$(printf '%s' "$FOUND" | grep -c . || true)"
  if [ "$COUNT" -gt 1 ]; then
    die "several registrations are named \"$NAME\"; pick one with --app-id"
  elif [ "$COUNT" -eq 1 ]; then
    APP_ID="$FOUND"
    echo "Updating the existing registration \"$NAME\" ($APP_ID)."
  else
    APP_ID="$(az ad app create --display-name "$NAME" --sign-in-audience AzureADMyOrg --query appId --output tsv)"
    echo "Created the registration \"$NAME\" ($APP_ID)."
  fi
fi
OBJECT_ID="$(az ad app show --id "$APP_ID" --query id --output tsv)"

# 2. App roles, scope, token version, optional claims, ID-token sign-in, Application ID URIs (api://<client id> plus
#    any extra ones) and sign-in redirect URIs, in one PATCH through Microsoft Graph. Graph replaces web, api and
#    optionalClaims as a whole, so the body is the manifest merged with the registration as it is now.
az rest --method GET --uri "$GRAPH/v1.0/applications/$OBJECT_ID" --output json >"$WORK/current.json" || die "cannot read the registration $APP_ID"
MERGE_ARGS=(--app-id "$APP_ID")
for uri in "${EXTRA_URIS[@]+"${EXTRA_URIS[@]}"}"; do
  MERGE_ARGS+=(--identifier-uri "$uri")
done
for host in "${REDIRECT_HOSTS[@]+"${REDIRECT_HOSTS[@]}"}"; do
  MERGE_ARGS+=(--redirect-uri "https://$host/.auth/login/aad/callback")
done
node "$MERGE" "$MANIFEST" "$WORK/current.json" "${MERGE_ARGS[@]}" >"$WORK/body.json" || die "cannot merge $(basename "$MANIFEST") with the registration"
az rest --method PATCH \
  --uri "$GRAPH/v1.0/applications/$OBJECT_ID" \
  --headers "Content-Type=application/json" \
  --body "@$WORK/body.json" >/dev/null
echo "Applied $(basename "$MANIFEST") (kept the registration's redirect URIs, pre-authorised applications and Application ID URIs)."
az rest --method GET --uri "$GRAPH/v1.0/applications/$OBJECT_ID" --output json >"$WORK/current.json"
node -e '
  const app = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`Application ID URIs: ${(app.identifierUris ?? []).join(" ")}`);
  console.log(`Sign-in redirect URIs: ${(app.web?.redirectUris ?? []).join(" ") || "(none yet)"}`);
  console.log(`Pre-authorised applications: ${(app.api?.preAuthorizedApplications ?? []).map((a) => a.appId).join(" ") || "(none)"}`);
' "$WORK/current.json"

# 3. The service principal, with assignment required: no role, no token.
if ! az ad sp show --id "$APP_ID" --query id --output tsv >/dev/null 2>&1; then
  az ad sp create --id "$APP_ID" >/dev/null
  echo "Created the service principal."
fi
az ad sp update --id "$APP_ID" --set appRoleAssignmentRequired=true >/dev/null
echo "User assignment required: only people, groups and apps given a Sovereign MCP role can sign in."

# 4. Optional: the federated credential for on-behalf-of mode, and the authentication contexts for step-up.
if [ -n "$FEDERATED_PRINCIPAL" ]; then
  FIC_NAME="sovereign-mcp-managed-identity"
  if az ad app federated-credential show --id "$APP_ID" --federated-credential-id "$FIC_NAME" >/dev/null 2>&1; then
    az ad app federated-credential delete --id "$APP_ID" --federated-credential-id "$FIC_NAME" >/dev/null
  fi
  printf '{"name":"%s","issuer":"https://login.microsoftonline.com/%s/v2.0","subject":"%s","audiences":["api://AzureADTokenExchange"]}' \
    "$FIC_NAME" "$TENANT_ID" "$FEDERATED_PRINCIPAL" >"$WORK/fic.json"
  az ad app federated-credential create --id "$APP_ID" --parameters "@$WORK/fic.json" >/dev/null
  echo "Federated credential: the registration trusts the managed identity $FEDERATED_PRINCIPAL (no secret)."
fi
if [ "$AUTH_CONTEXTS" = true ]; then
  CONTEXTS="$HERE/conditional-access/authentication-contexts.json"
  [ -f "$CONTEXTS" ] || die "cannot find $CONTEXTS"
  node -e 'for (const c of JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))) console.log(c.id + "\t" + JSON.stringify(c));' "$CONTEXTS" |
    while IFS=$'\t' read -r id body; do
      printf '%s' "$body" >"$WORK/context.json"
      az rest --method PATCH --uri "$GRAPH/v1.0/identity/conditionalAccess/authenticationContextClassReferences/$id" \
        --headers "Content-Type=application/json" --body "@$WORK/context.json" >/dev/null
      echo "Authentication context $id is available to Conditional Access."
    done
fi

cat <<EOF

Put these in infra/main.parameters.json:

    "tenantId": { "value": "$TENANT_ID" },
    "entraClientId": { "value": "$APP_ID" },

Application ID URI: api://$APP_ID    scope: api://$APP_ID/Mcp.Access
Next: deploy (infra/README.md, step 2), then run again with --app-id $APP_ID --redirect-host <functionAppHostName>
so approvers can sign in, and assign the app roles (Mcp.Approver through PIM for Groups).
EOF
