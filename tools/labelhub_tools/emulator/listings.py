"""Resource listings and STS: the actions a Grafana instance picker and the SDK's
STS credential use.

cvm 2017-03-12 DescribeInstances and DescribeRegions, api 2020-11-06 DescribeRegions,
cdb 2017-03-20 DescribeDBInstances, scf 2018-04-16 ListFunctions and ListNamespaces,
clb 2018-03-17 DescribeLoadBalancers, sts 2018-08-13 AssumeRole. Responses carry the
fields a picker needs (ids, names, region/zone, status, addresses) plus the usual
paging (Offset/Limit in, TotalCount out), not every field of the real API.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, TypeVar

from labelhub_tools.emulator import inventory
from labelhub_tools.emulator.context import ActionContext
from labelhub_tools.emulator.errors import (
    CVM_INVALID_FILTER,
    CVM_LIMIT_EXCEEDED,
    INVALID_PARAMETER,
    SCF_NAMESPACE_NOT_FOUND,
    ApiError,
    invalid_value,
)
from labelhub_tools.emulator.inventory import Instance
from labelhub_tools.emulator.params import check_known, get_int, get_list, get_str, get_str_list

CREATED = "2024-03-01T08:00:00Z"


_Item = TypeVar("_Item")


def _page(
    items: list[_Item], params: dict[str, Any], max_limit: int, limit_code: str | None = None
) -> list[_Item]:
    offset = get_int(params, "Offset", default=0, minimum=0)
    try:
        limit = get_int(params, "Limit", default=20, minimum=1, maximum=max_limit)
    except ApiError as error:
        if limit_code is None:
            raise
        raise ApiError(limit_code, error.message) from None
    return items[offset : offset + limit]


def _region_set() -> dict[str, Any]:
    regions = [{"Region": r.region, "RegionName": r.name, "RegionState": r.state} for r in inventory.REGIONS]
    return {"TotalCount": len(regions), "RegionSet": regions}


def describe_regions(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """cvm 2017-03-12 DescribeRegions: every region with its state; no parameters."""
    check_known(params, ())
    return _region_set()


def describe_regions_api(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """api 2020-11-06 DescribeRegions: the same list; ``Product`` (e.g. cvm) is required."""
    check_known(params, ("Product", "Scene"))
    get_str(params, "Product", required=True)
    return _region_set()


_CVM_FILTERS = {
    "zone": lambda i: [i.zone],
    "instance-id": lambda i: [i.resource_id],
    "instance-name": lambda i: [i.name],
    "instance-state": lambda i: [i.status],
    "private-ip-address": lambda i: [i.attrs["private_ip"]],
    "public-ip-address": lambda i: [i.attrs["public_ip"]],
    "tag-key": lambda i: list(i.attrs["tags"]),
    "project-id": lambda i: ["0"],
}


def _cvm_filter_values(instance: Instance, name: str) -> list:
    if name.startswith("tag:"):
        tags = instance.attrs["tags"]
        return [tags[name[4:]]] if name[4:] in tags else []
    if name not in _CVM_FILTERS:
        raise ApiError(CVM_INVALID_FILTER, f"The filter `{name}` is not supported.")
    return _CVM_FILTERS[name](instance)


def _cvm_matches(instance: Instance, filters: list) -> bool:
    for n, item in enumerate(filters):
        if not isinstance(item, dict) or not isinstance(item.get("Name"), str):
            raise ApiError(INVALID_PARAMETER, f"Filters.{n} must be {{Name, Values}}.")
        values = get_str_list(item, "Values")
        if len(values) > 5:
            raise ApiError(CVM_LIMIT_EXCEEDED, f"Filters.{n}.Values holds at most 5 values.")
        if not set(values) & set(_cvm_filter_values(instance, item["Name"])):
            return False
    return True


def _cvm_entry(i: Instance) -> dict[str, Any]:
    public = i.attrs["public_ip"]
    return {
        "Placement": {"Zone": i.zone, "ProjectId": 0},
        "InstanceId": i.resource_id,
        "InstanceType": i.attrs["instance_type"],
        "CPU": i.attrs["cpu"],
        "Memory": i.attrs["memory"],
        "InstanceName": i.name,
        "InstanceState": i.status,
        "PrivateIpAddresses": [i.attrs["private_ip"]],
        "PublicIpAddresses": [public] if public else None,
        "CreatedTime": CREATED,
        "Tags": [{"Key": k, "Value": v} for k, v in i.attrs["tags"].items()],
    }


def describe_instances(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """cvm DescribeInstances: by InstanceIds or Filters (not both), Limit at most 100."""
    check_known(params, ("InstanceIds", "Filters", "Offset", "Limit"))
    ids = get_str_list(params, "InstanceIds")
    filters = get_list(params, "Filters")
    if ids and filters:
        raise ApiError(INVALID_PARAMETER, "InstanceIds and Filters cannot be given together.")
    if len(ids) > 100 or len(filters) > 10:
        raise ApiError(CVM_LIMIT_EXCEEDED, "At most 100 InstanceIds and 10 Filters.")
    found = [
        i
        for i in inventory.instances("cvm", ctx.region)
        if (not ids or i.resource_id in ids) and _cvm_matches(i, filters)
    ]
    page = _page(found, params, 100, CVM_LIMIT_EXCEEDED)
    return {"TotalCount": len(found), "InstanceSet": [_cvm_entry(i) for i in page]}


def _cdb_entry(i: Instance, region: str) -> dict[str, Any]:
    return {
        "InstanceId": i.resource_id,
        "InstanceName": i.name,
        "Region": region,
        "Zone": i.zone,
        "Status": int(i.status),
        "InstanceType": i.attrs["instance_type"],
        "Vip": i.attrs["vip"],
        "Vport": 3306,
        "Memory": i.attrs["memory"],
        "Volume": i.attrs["volume"],
        "EngineVersion": "8.0",
        "ProjectId": 0,
        "CreateTime": "2024-03-01 16:00:00",
    }


def describe_db_instances(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """cdb DescribeDBInstances: filters InstanceIds, InstanceTypes, InstanceNames, Vips."""
    ids = get_str_list(params, "InstanceIds")
    types = get_str_list(params, "InstanceTypes")
    names = get_str_list(params, "InstanceNames")
    vips = get_str_list(params, "Vips")
    found = [
        i
        for i in inventory.instances("cdb", ctx.region)
        if (not ids or i.resource_id in ids)
        and (not types or str(i.attrs["instance_type"]) in types)
        and (not names or any(n in i.name for n in names))
        and (not vips or i.attrs["vip"] in vips)
    ]
    page = _page(found, params, 2000)
    return {"TotalCount": len(found), "Items": [_cdb_entry(i, ctx.region or "") for i in page]}


def _function_entry(i: Instance) -> dict[str, Any]:
    return {
        "FunctionId": i.resource_id,
        "FunctionName": i.name,
        "Namespace": i.attrs["namespace"],
        "Runtime": i.attrs["runtime"],
        "Status": i.status,
        "StatusDesc": "",
        "Description": "",
        "AddTime": "2024-03-01 16:00:00",
        "ModTime": "2024-06-01 16:00:00",
        "Type": "Event",
        "Tags": [],
    }


def list_functions(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """scf ListFunctions: the functions of one namespace (``default`` unless given)."""
    namespace = get_str(params, "Namespace") or "default"
    if namespace not in inventory.SCF_NAMESPACES.get(ctx.region or "", ()):
        raise ApiError(SCF_NAMESPACE_NOT_FOUND, f"The namespace `{namespace}` does not exist.")
    search = get_str(params, "SearchKey") or ""
    found = [
        i
        for i in inventory.instances("scf", ctx.region)
        if i.attrs["namespace"] == namespace and search in i.name
    ]
    page = _page(found, params, 100)
    return {"TotalCount": len(found), "Functions": [_function_entry(i) for i in page]}


def list_namespaces(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """scf ListNamespaces: the function namespaces of the region."""
    names = list(inventory.SCF_NAMESPACES.get(ctx.region or "", ()))
    page = _page(names, params, 100)
    entries = [
        {
            "Name": n,
            "Type": "default" if n == "default" else "custom",
            "Description": "",
            "AddTime": "2024-03-01 16:00:00",
            "ModTime": "2024-03-01 16:00:00",
        }
        for n in page
    ]
    return {"TotalCount": len(names), "Namespaces": entries}


def _clb_entry(i: Instance) -> dict[str, Any]:
    return {
        "LoadBalancerId": i.resource_id,
        "LoadBalancerName": i.name,
        "LoadBalancerType": i.attrs["type"],
        "Forward": 1,
        "Status": int(i.status),
        "LoadBalancerVips": [i.attrs["vip"]],
        "VpcId": i.attrs["vpc_id"],
        "ProjectId": 0,
        "AddressIPVersion": "ipv4",
        "CreateTime": "2024-03-01 16:00:00",
    }


def describe_load_balancers(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """clb DescribeLoadBalancers: filters LoadBalancerIds and LoadBalancerType."""
    ids = get_str_list(params, "LoadBalancerIds")
    kind = get_str(params, "LoadBalancerType")
    if kind not in (None, "OPEN", "INTERNAL"):
        raise invalid_value("LoadBalancerType", "must be OPEN or INTERNAL")
    found = [
        i
        for i in inventory.instances("clb", ctx.region)
        if (not ids or i.resource_id in ids) and kind in (None, i.attrs["type"])
    ]
    page = _page(found, params, 100)
    return {"TotalCount": len(found), "LoadBalancerSet": [_clb_entry(i) for i in page]}


def assume_role(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """sts AssumeRole: issue a temporary key pair and token the emulator then accepts."""
    check_known(
        params,
        ("RoleArn", "RoleSessionName", "DurationSeconds", "Policy", "ExternalId", "Tags", "SourceIdentity"),
    )
    role = get_str(params, "RoleArn", required=True)
    get_str(params, "RoleSessionName", required=True)
    duration = get_int(params, "DurationSeconds", default=7200, minimum=1, maximum=43200)
    if not role.startswith("qcs::cam::"):
        raise invalid_value("RoleArn", "expected qcs::cam::uin/<uin>:roleName/<name>")
    expires = int(ctx.now) + duration
    pair = ctx.credentials.issue_temporary(expires, ctx.seed)
    expiration = datetime.fromtimestamp(expires, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "Credentials": {"Token": pair.token, "TmpSecretId": pair.secret_id, "TmpSecretKey": pair.secret_key},
        "ExpiredTime": expires,
        "Expiration": expiration,
    }
