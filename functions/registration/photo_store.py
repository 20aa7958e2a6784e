"""S3: the photos bucket (private, versioned; photos at people/<person id>/<face id>.<jpg|png>) and, in frame-search
mode, the match snapshots the crops bucket keeps of recognised faces (snapshots/<person id>/..., not versioned)."""

from datetime import UTC, datetime, timedelta


def person_prefix(person_id: str) -> str:
    return f"people/{person_id}/"


def photo_key(person_id: str, face_id: str, extension: str) -> str:
    return f"{person_prefix(person_id)}{face_id}.{extension}"


class PhotoStore:
    def __init__(self, client, bucket: str):
        self._client = client
        self.bucket = bucket

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self._client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def delete_all_versions(self, prefix: str) -> int:
        """Permanently delete every version and delete marker under `prefix` (a plain DeleteObject on a
        versioned bucket would only hide the photo behind a delete marker). Returns how many were removed."""
        removed = 0
        for page in self._client.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=prefix):
            versions = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
                if v["Key"].startswith(prefix)
            ]
            if not versions:
                continue
            response = self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": versions, "Quiet": True})
            if response.get("Errors"):
                raise PhotosNotDeleted(response["Errors"])
            removed += len(versions)
        return removed

    def link(self, key: str, seconds: int) -> tuple[str, datetime]:
        url = self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=seconds
        )
        return url, datetime.now(UTC) + timedelta(seconds=seconds)


class PhotosNotDeleted(RuntimeError):
    """S3 refused to delete some object versions."""


def snapshot_prefix(person_id: str) -> str:
    return f"snapshots/{person_id}/"


class SnapshotStore:
    def __init__(self, client, bucket: str):
        self._client = client
        self.bucket = bucket

    def delete_all(self, prefix: str) -> int:
        """Delete every object under `prefix`; how many were deleted."""
        removed = 0
        for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", []) if item["Key"].startswith(prefix)]
            if not keys:
                continue
            response = self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
            if response.get("Errors"):
                raise PhotosNotDeleted(response["Errors"])
            removed += len(keys)
        return removed
