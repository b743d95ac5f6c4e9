#!/usr/bin/env bash
# Deploys one image tag of wump to one environment on ECS (CI runs it; so can you, with
# AWS credentials for that environment's deploy role or better):
#
#   deploy/ecs-deploy.sh ENV TAG [--images DIR] [--skip-migrate]
#
#   ENV             dev | staging | production (resources are named wump-ENV)
#   TAG             image tag, a git commit SHA
#   --images DIR    push DIR/api.tar and DIR/worker.tar (OCI archives from CI's image
#                   job) to the environment's ECR as TAG first; without it TAG must
#                   already be there (a redeploy or a rollback)
#   --skip-migrate  do not run the migrate task (a rollback: see docs/deploy.md)
#
# Steps: push images -> run a new revision of the migrate task definition and require exit
# code 0 -> register new revisions of the api and worker task definitions (each the latest
# revision, which OpenTofu owns, with only the image changed) -> point both services at
# them -> wait until they are stable and check that the new revision is the one
# running (ECS's circuit breaker rolls a failing deploy back on its own).
# Needs: aws (v2), jq; skopeo with --images.
set -euo pipefail

say() { printf '[deploy] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

[ $# -ge 2 ] || die "usage: $0 ENV TAG [--images DIR] [--skip-migrate]"
env_name="$1" tag="$2"
shift 2
images="" migrate=1
while [ $# -gt 0 ]; do
    case "$1" in
        --images) images="$2"; shift 2 ;;
        --skip-migrate) migrate=0; shift ;;
        *) die "unknown argument $1" ;;
    esac
done
case "$env_name" in dev | staging | production) ;; *) die "ENV must be dev, staging or production" ;; esac
[[ "$tag" =~ ^[A-Za-z0-9._-]{1,128}$ ]] || die "TAG $tag is not a valid image tag"

name="wump-$env_name"
cluster="$name"
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
[ -n "$region" ] || die "set AWS_REGION"
account="$(aws sts get-caller-identity --query Account --output text)"
registry="$account.dkr.ecr.$region.amazonaws.com"

# ---- images -------------------------------------------------------------------------------

image_exists() { # image_exists REPO TAG
    aws ecr describe-images --repository-name "$1" --image-ids "imageTag=$2" >/dev/null 2>&1
}

if [ -n "$images" ]; then
    password="$(aws ecr get-login-password)"
    for target in api worker; do
        repo="$name/$target"
        if image_exists "$repo" "$tag"; then
            say "$repo:$tag is already in ECR (tags are immutable): not pushing again"
            continue
        fi
        say "pushing $target image to $registry/$repo:$tag"
        skopeo copy --quiet --dest-creds "AWS:$password" \
            "oci-archive:$images/$target.tar" "docker://$registry/$repo:$tag"
    done
fi
for target in api worker; do
    image_exists "$name/$target" "$tag" || die "$registry/$name/$target:$tag does not exist"
done

# ---- task definitions ---------------------------------------------------------------------

register() { # register FAMILY CONTAINER IMAGE -> prints the new revision's ARN
    aws ecs describe-task-definition --task-definition "$1" --query taskDefinition --output json |
        jq --arg c "$2" --arg img "$3" '
            .containerDefinitions |= map(if .name == $c then .image = $img else . end)
            | del(.taskDefinitionArn, .revision, .status, .requiresAttributes, .compatibilities,
                  .registeredAt, .registeredBy, .deregisteredAt)' >"$tmp/$1.json"
    aws ecs register-task-definition --cli-input-json "file://$tmp/$1.json" \
        --query taskDefinition.taskDefinitionArn --output text
}

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
api_image="$registry/$name/api:$tag"
worker_image="$registry/$name/worker:$tag"

# ---- migrations ---------------------------------------------------------------------------

if [ "$migrate" = 1 ]; then
    migrate_td="$(register "$name-migrate" migrate "$api_image")"
    # The worker service's subnets and security group: private, and admitted by RDS.
    network="$(aws ecs describe-services --cluster "$cluster" --services "$name-worker" \
        --query 'services[0].networkConfiguration' --output json)"
    say "running $migrate_td"
    task="$(aws ecs run-task --cluster "$cluster" --task-definition "$migrate_td" \
        --launch-type FARGATE --network-configuration "$network" --started-by "deploy-$tag" \
        --query 'tasks[0].taskArn' --output text)"
    [ -n "$task" ] && [ "$task" != None ] || die "the migrate task did not start"
    aws ecs wait tasks-stopped --cluster "$cluster" --tasks "$task"
    read -r code reason < <(aws ecs describe-tasks --cluster "$cluster" --tasks "$task" \
        --query 'tasks[0].[containers[0].exitCode, stoppedReason]' --output text)
    if [ "$code" != 0 ]; then
        say "migrate exited with $code ($reason); its log:"
        aws logs tail "/ecs/$name/migrate" --since 30m --format short | tail -n 50 >&2 || true
        die "migrations failed: the services keep running the previous image"
    fi
    say "migrations applied"
else
    say "skipping the migrate task (--skip-migrate)"
fi

# ---- roll out -----------------------------------------------------------------------------

api_td="$(register "$name-api" api "$api_image")"
worker_td="$(register "$name-worker" worker "$worker_image")"
say "registered $api_td and $worker_td"

aws ecs update-service --cluster "$cluster" --service "$name-api" --task-definition "$api_td" \
    --query service.serviceName --output text >/dev/null
aws ecs update-service --cluster "$cluster" --service "$name-worker" --task-definition "$worker_td" \
    --query service.serviceName --output text >/dev/null
say "rolling out; waiting for both services to be stable"
aws ecs wait services-stable --cluster "$cluster" --services "$name-api" "$name-worker"

for pair in "$name-api=$api_td" "$name-worker=$worker_td"; do
    service="${pair%%=*}" want="${pair#*=}"
    # shellcheck disable=SC2016 # the backticks are JMESPath literals, not shell
    running="$(aws ecs describe-services --cluster "$cluster" --services "$service" \
        --query 'services[0].deployments[?status==`PRIMARY`].taskDefinition | [0]' --output text)"
    [ "$running" = "$want" ] ||
        die "$service runs $running, not $want: the deployment circuit breaker rolled it back (see the service events)"
done
say "$env_name now runs $tag"
