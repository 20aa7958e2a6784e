#!/usr/bin/env bash
# Give one camera its AWS identity, from a computer with the AWS CLI and admin rights (not on the Pi).
# Writes a folder to copy to the Pi: camera.env (filled in) and, for IoT, the certificate and key.
#
#   pi/provision-camera.sh --stack greeter --camera entrance [--region eu-west-1] [--out ./camera-entrance]
#   pi/provision-camera.sh --stack greeter --camera entrance --method access-keys     (the fallback)
#
# iot-certificate (preferred): an IoT thing named like the camera's stream, a certificate and key made
#   here, the stack's camera IoT policy attached. The Pi trades the certificate for short-lived credentials
#   of the stack's camera role (kvssink for the video, the camera program for the face crops), which may
#   only write to the stream named like the thing and, in frame-search mode, to crops/<that name>/.
# access-keys (fallback): an IAM user named like the stream with the stack's camera access policy, which
#   only allows that user's own stream and crops; its access key goes into camera.env.
# Running it again for the same camera reuses the thing, certificate or user it made before.
set -euo pipefail

STACK=""
CAMERA=""
REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
OUT=""
METHOD=iot-certificate

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }
die() { printf 'provision-camera.sh: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --stack) STACK="${2:-}"; shift ;;
    --camera) CAMERA="${2:-}"; shift ;;
    --region) REGION="${2:-}"; shift ;;
    --out) OUT="${2:-}"; shift ;;
    --method) METHOD="${2:-}"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done

[ -n "$STACK" ] || die "--stack is required (the Greeter stack's name)"
[ -n "$CAMERA" ] || die "--camera is required (one name of the stack's Cameras parameter, e.g. entrance)"
[ -n "$REGION" ] || die "--region is required (or set AWS_REGION)"
case "$METHOD" in iot-certificate | access-keys) ;; *) die "--method must be iot-certificate or access-keys" ;; esac
command -v aws >/dev/null || die "the AWS CLI (aws) is not installed"

STREAM="$STACK-$CAMERA"
OUT="${OUT:-./camera-$CAMERA}"
export AWS_REGION="$REGION"

output() {
  aws cloudformation describe-stacks --stack-name "$STACK" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}

echo "Camera $CAMERA of stack $STACK: stream $STREAM in $REGION"
aws kinesisvideo describe-stream --stream-name "$STREAM" --query StreamInfo.StreamARN --output text >/dev/null ||
  die "stream $STREAM does not exist: is $CAMERA in the stack's Cameras parameter (its CameraNames output: $(output CameraNames))?"
DETECTION_MODE="$(output DetectionMode)"
CROPS_BUCKET="$(output CropsBucketName)"

mkdir -p "$OUT/certs"
chmod 700 "$OUT"

if [ "$METHOD" = iot-certificate ]; then
  POLICY="$(output CameraIotPolicyName)"
  ROLE_ALIAS="$(output CameraRoleAlias)"
  if [ -z "$POLICY" ] || [ "$POLICY" = None ]; then
    die "the stack has no CameraIotPolicyName output (deploy the current template)"
  fi
  if ! aws iot describe-thing --thing-name "$STREAM" >/dev/null 2>&1; then
    aws iot create-thing --thing-name "$STREAM" >/dev/null
    echo "created IoT thing $STREAM"
  fi
  if [ -f "$OUT/certs/certificate.arn" ]; then
    CERT_ARN="$(cat "$OUT/certs/certificate.arn")"
    echo "reusing certificate $CERT_ARN"
  else
    CERT_ARN="$(aws iot create-keys-and-certificate --set-as-active \
      --certificate-pem-outfile "$OUT/certs/certificate.pem.crt" \
      --private-key-outfile "$OUT/certs/private.pem.key" \
      --query certificateArn --output text)"
    echo "$CERT_ARN" >"$OUT/certs/certificate.arn"
    chmod 600 "$OUT/certs/private.pem.key"
    echo "created certificate $CERT_ARN"
  fi
  aws iot attach-policy --policy-name "$POLICY" --target "$CERT_ARN"
  aws iot attach-thing-principal --thing-name "$STREAM" --principal "$CERT_ARN"
  ENDPOINT="$(aws iot describe-endpoint --endpoint-type iot:CredentialProvider --query endpointAddress --output text)"
  CREDENTIALS="GREETER_CREDENTIALS=iot-certificate
GREETER_IOT_CREDENTIALS_ENDPOINT=$ENDPOINT
GREETER_IOT_ROLE_ALIAS=$ROLE_ALIAS
GREETER_IOT_THING_NAME=$STREAM
GREETER_IOT_CERT=/etc/greeter/certs/certificate.pem.crt
GREETER_IOT_KEY=/etc/greeter/certs/private.pem.key
GREETER_IOT_CA=/etc/ssl/certs/Amazon_Root_CA_1.pem"
else
  POLICY_ARN="$(output CameraAccessKeyPolicyArn)"
  if [ -z "$POLICY_ARN" ] || [ "$POLICY_ARN" = None ]; then
    die "the stack has no CameraAccessKeyPolicyArn output (deploy the current template)"
  fi
  [ "${#STREAM}" -le 64 ] || die "IAM user names stop at 64 characters; $STREAM is longer: use iot-certificate"
  if ! aws iam get-user --user-name "$STREAM" >/dev/null 2>&1; then
    aws iam create-user --user-name "$STREAM" --path "/greeter-cameras/" >/dev/null
    echo "created IAM user $STREAM"
  fi
  aws iam attach-user-policy --user-name "$STREAM" --policy-arn "$POLICY_ARN"
  if [ -f "$OUT/access-key.env" ]; then
    echo "reusing the access key in $OUT/access-key.env"
  else
    aws iam create-access-key --user-name "$STREAM" \
      --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text |
      awk '{ print "AWS_ACCESS_KEY_ID=" $1; print "AWS_SECRET_ACCESS_KEY=" $2 }' >"$OUT/access-key.env"
    chmod 600 "$OUT/access-key.env"
    echo "created an access key for $STREAM"
  fi
  CREDENTIALS="GREETER_CREDENTIALS=access-keys
$(cat "$OUT/access-key.env")"
fi

if [ "$DETECTION_MODE" = FrameSearch ]; then
  DETECTION="GREETER_DETECTION=frame-search
GREETER_CROPS_BUCKET=$CROPS_BUCKET"
else
  DETECTION="GREETER_DETECTION=off"
fi

umask 077
cat >"$OUT/camera.env" <<EOF
# Made by pi/provision-camera.sh for camera $CAMERA of stack $STACK. Camera settings (device, resolution,
# encoder...) and frame-search settings (GREETER_RESEND_SECONDS, GREETER_MAX_CROPS_PER_MINUTE...) keep
# their defaults: see /opt/greeter/camera/camera.env.example for all of them.
GREETER_STREAM_NAME=$STREAM
AWS_REGION=$REGION
GREETER_STREAM_VIDEO=true
$DETECTION
$CREDENTIALS
EOF

cat <<EOF

Done. Copy $OUT to the Pi and put the files in place:
  scp -r $OUT pi@<the Pi>:camera
  ssh pi@<the Pi>
  sudo install -m 640 -o root -g greeter-camera camera/camera.env /etc/greeter/camera.env
EOF
if [ "$METHOD" = iot-certificate ]; then
  cat <<EOF
  sudo install -m 640 -o root -g greeter-camera camera/certs/certificate.pem.crt camera/certs/private.pem.key /etc/greeter/certs/
EOF
fi
cat <<EOF
  sudo systemctl restart greeter-camera && systemctl status greeter-camera
Then delete the copy on the Pi (rm -r camera) and keep $OUT somewhere safe, or delete it too.
EOF
