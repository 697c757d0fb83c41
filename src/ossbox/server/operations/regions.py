"""DescribeRegions: the regions OSS has, each reachable at the endpoint the caller used.

Strategy: as in the cloud, the answer lists every public region whichever endpoint is asked (and the
server's own `--region`, should it not be one of them). Each region's endpoints are this server's: an SDK
that picks its endpoint from DescribeRegions reaches this server, the only one there is.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...protocol.errors import OssError
from .context import Context

__all__ = ["RegionsRequest", "describe_regions", "PUBLIC_REGIONS"]

PUBLIC_REGIONS = (
    "cn-hangzhou", "cn-shanghai", "cn-nanjing", "cn-fuzhou", "cn-wuhan-lr", "cn-qingdao", "cn-beijing",
    "cn-zhangjiakou", "cn-huhehaote", "cn-wulanchabu", "cn-shenzhen", "cn-heyuan", "cn-guangzhou", "cn-chengdu",
    "cn-hongkong", "us-west-1", "us-east-1", "ap-northeast-1", "ap-northeast-2", "ap-southeast-1",
    "ap-southeast-3", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "eu-central-1", "eu-west-1",
    "me-east-1", "me-central-1",
)


@dataclass(frozen=True)
class RegionsRequest:
    region: str | None  # one region, as OSS names it (`oss-cn-chengdu`); None: all of them
    served: str | None  # the server's --region


async def describe_regions(context: Context, request: RegionsRequest) -> list[str]:
    """The regions, as OSS names them (`oss-cn-hangzhou`); 404 NoSuchRegion for one OSS does not have."""
    names = PUBLIC_REGIONS if request.served in (None, *PUBLIC_REGIONS) else (*PUBLIC_REGIONS, request.served)
    regions = [f"oss-{name}" for name in names]
    if request.region is None:
        return regions
    if request.region not in regions:
        raise OssError("NoSuchRegion", f"The region {request.region} does not exist.", RegionName=request.region)
    return [request.region]
