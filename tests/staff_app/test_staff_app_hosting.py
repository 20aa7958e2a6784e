"""The stack hosts the staff app: a private bucket read only by its CloudFront distribution, HTTPS only, security
headers whose content security policy allows exactly the app's endpoints, and config.json written at every
deploy so the app finds its endpoints with no manual step."""

import json
from urllib.parse import urlsplit

import pytest
from stack import Stack


@pytest.fixture
def site(aws, monkeypatch):
    stack = Stack({"AlertEmails": "staff@example.com", "StoreLocale": "pt-PT"}).deploy()
    return stack, stack.load_function("StaffAppSiteFunction", monkeypatch)


def _csp(stack) -> dict[str, list[str]]:
    policy = stack.resolve(stack.resources["StaffAppSecurityHeaders"]["Properties"])["ResponseHeadersPolicyConfig"]
    text = policy["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    return {part.split()[0]: part.split()[1:] for part in text.split("; ")}


def test_the_content_security_policy_allows_exactly_the_apps_endpoints(site):
    stack, _ = site
    csp = _csp(stack)
    realtime = f"wss://{stack.get_att('ArrivalsApi', 'Dns.Realtime')}"
    # The API is the app's own origin ('self'): the distribution serves it under /v1.
    assert csp["connect-src"] == ["'self'", "https://cognito-idp.eu-west-1.amazonaws.com", realtime]
    assert csp["script-src"] == ["'self'"] and csp["default-src"] == ["'none'"]
    assert csp["img-src"][-1] == f"https://{stack.get_att('PhotosBucket', 'RegionalDomainName')}"
    assert csp["frame-ancestors"] == ["'none'"]
    # Every endpoint the app is configured with is one the policy allows.
    config = stack.resolve(stack.resources["StaffAppSite"]["Properties"])
    assert config["apiUrl"] == "/v1"
    assert urlsplit(config["eventsRealtimeEndpoint"])._replace(path="").geturl() in csp["connect-src"]


def test_the_bucket_is_private_and_read_only_by_this_distribution_over_https(site):
    stack, _ = site
    resources = stack.resources
    distribution = resources["StaffAppDistribution"]["Properties"]["DistributionConfig"]
    assert distribution["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert distribution["DefaultCacheBehavior"]["AllowedMethods"] == ["GET", "HEAD"]
    assert "OriginAccessControlId" in distribution["Origins"][0]
    api_origin = stack.resolve(distribution["Origins"][1])
    assert api_origin["DomainName"] == f"{stack.ref('RegistrationApi')}.execute-api.eu-west-1.amazonaws.com"
    assert api_origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    (api,) = distribution["CacheBehaviors"]
    assert (api["PathPattern"], api["TargetOriginId"], api["ViewerProtocolPolicy"]) == ("/v1/*", "api", "https-only")
    oac = resources["StaffAppOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert (oac["SigningBehavior"], oac["SigningProtocol"]) == ("always", "sigv4")
    bucket = resources["StaffAppBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    statements = stack.resolve(resources["StaffAppBucketPolicy"]["Properties"])["PolicyDocument"]["Statement"]
    reads = next(s for s in statements if s["Sid"] == "ThisDistributionReads")
    assert reads["Principal"] == {"Service": "cloudfront.amazonaws.com"} and reads["Action"] == "s3:GetObject"
    distribution_arn = f"arn:aws:cloudfront::123456789012:distribution/{stack.ref('StaffAppDistribution')}"
    assert reads["Condition"] == {"StringEquals": {"AWS:SourceArn": distribution_arn}}
    assert any(s["Sid"] == "TlsOnly" and s["Effect"] == "Deny" for s in statements)


def _event(stack, request_type: str) -> dict:
    return {
        "RequestType": request_type,
        "ResponseURL": "https://cloudformation-custom-resource-response.example/reply",
        "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/greeter/1",
        "RequestId": "r1",
        "LogicalResourceId": "StaffAppSite",
        "ResourceProperties": stack.resolve(stack.resources["StaffAppSite"]["Properties"]),
    }


class Replies(list):
    """CloudFormation's side of a custom resource: the presigned URL the function PUTs its answer to."""

    def urlopen(self, request, timeout):
        self.append(json.loads(request.data))
        return open("/dev/null")  # noqa: SIM115 - a context manager, as urlopen returns


def test_every_deploy_publishes_the_app_and_its_endpoints_and_delete_empties_the_bucket(
    site, staff_app_dist, monkeypatch, lambda_context
):
    stack, function = site
    replies = Replies()
    monkeypatch.setattr(function.urllib.request, "urlopen", replies.urlopen)
    monkeypatch.setattr(function, "SITE", staff_app_dist)
    invalidations = []
    monkeypatch.setattr(function, "invalidate", invalidations.append)

    function.lambda_handler(_event(stack, "Create"), lambda_context)
    assert replies[-1]["Status"] == "SUCCESS"
    s3 = stack.client("s3")
    bucket = stack.ref("StaffAppBucket")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert {"index.html", "app.js", "app.css", "config.json"} <= keys
    config = json.loads(s3.get_object(Bucket=bucket, Key="config.json")["Body"].read())
    assert config == {
        "region": "eu-west-1",
        "userPoolId": stack.ref("StaffUserPool"),
        "userPoolClientId": stack.ref("StaffUserPoolClient"),
        "apiUrl": "/v1",
        "eventsHttpHost": stack.get_att("ArrivalsApi", "Dns.Http"),
        "eventsRealtimeEndpoint": f"wss://{stack.get_att('ArrivalsApi', 'Dns.Realtime')}/event/realtime",
        "storeName": "Greeter store",
        "storeTimeZone": "Europe/London",
        "locale": "pt-PT",
    }
    assert s3.head_object(Bucket=bucket, Key="index.html")["CacheControl"] == "no-cache"
    assert invalidations == [stack.ref("StaffAppDistribution")]

    function.lambda_handler(_event(stack, "Delete"), lambda_context)
    assert replies[-1]["Status"] == "SUCCESS"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_a_failed_publish_fails_the_deploy_instead_of_hanging_it(site, monkeypatch, lambda_context):
    stack, function = site
    replies = Replies()
    monkeypatch.setattr(function.urllib.request, "urlopen", replies.urlopen)
    event = _event(stack, "Update")
    event["ResourceProperties"]["Bucket"] = "no-such-bucket-anywhere"
    function.lambda_handler(event, lambda_context)
    assert replies[-1]["Status"] == "FAILED" and "NoSuchBucket" in replies[-1]["Reason"]
