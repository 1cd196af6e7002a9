"""The scalar types of the spec: names, hosts, quantities, references, each checked with a message for people.

Each type is an ``Annotated`` string with a Python validator (which words the error)
and, where a regex says it, the same regex as JSON Schema ``pattern`` so editors flag
a bad value while it is typed. The models in :mod:`bbgen.spec.models` are built from
these.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from bbgen.spec.references import git_ref_problem, image_problem, quantity_value

DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_NAME_RE = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$")
QUANTITY_RE = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|Pi|Ei|M|G|T|P|E)?$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
K8S_VERSION_RE = re.compile(r"^1\.(2[5-9]|3[0-7])(\.[0-9]+)?$")
# Secret data keys (Kubernetes: `[-._a-zA-Z0-9]+`, at most 253).
SECRET_KEY_RE = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")
# An absolute URL path (and query), RFC 3986 characters only: no spaces, nothing a shell or YAML would read.
URL_PATH_RE = re.compile(r"^/[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*$")


HOST_PATTERN = f"^$|{DNS_NAME_RE.pattern}"


def _pattern(regex: str) -> Any:
    """The regex an editor checks while typing (JSON Schema `pattern`); Python checks too, with a better message."""
    return Field(json_schema_extra={"pattern": regex})


def keys_pattern(regex: re.Pattern[str]) -> dict[str, Any]:
    """JSON Schema for a mapping's keys (`propertyNames`), for editors; the key type checks in Python."""
    return {"propertyNames": {"pattern": regex.pattern}}


KAFKA_TOPIC_RE = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


def _kafka_topic(value: str) -> str:
    if not KAFKA_TOPIC_RE.match(value) or value in (".", ".."):
        raise ValueError(f"{value!r} is not a Kafka topic name (letters, digits, '.', '_' and '-', at most 249 characters, not '.' or '..')")
    return value


def _dns_label(value: str) -> str:
    if not DNS_LABEL_RE.match(value):
        raise ValueError(
            f"{value!r} is not a DNS-1123 label (lower-case letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters)"
        )
    return value


def _dns_name(value: str) -> str:
    if not DNS_NAME_RE.match(value):
        raise ValueError(f"{value!r} is not a DNS name (lower-case labels separated by dots)")
    return value


def _numeric_top(value: str) -> bool:
    """A name whose last label is all digits (`192.0.2.10`) is an IP address, not a domain."""
    return "." in value and value.rsplit(".", 1)[1].isdigit()


def _domain(value: str) -> str:
    _dns_name(value)
    if _numeric_top(value):
        raise ValueError(f"{value!r} is an IP address, not a domain (public hosts are names under it, e.g. example.org)")
    return value


def _host(value: str) -> str:
    if value and not DNS_NAME_RE.match(value):
        raise ValueError(f"{value!r} is not a host label (`llm`) or DNS name (`llm.example.org`); use \"\" for no public host")
    if _numeric_top(value):
        raise ValueError(f"{value!r} is an IP address, not a host name (certificates and routes need a DNS name)")
    return value


def _positive(value: str) -> str:
    amount = quantity_value(value)
    if amount is not None and amount <= 0:
        raise ValueError(f"{value!r} is no space at all: give a size above zero (e.g. 10Gi)")
    return value


def _image(value: str) -> str:
    if (why := image_problem(value)) is not None:
        raise ValueError(f"{value!r} is not an image reference: {why}")
    return value


def _branch(value: str) -> str:
    if (why := git_ref_problem(value)) is not None:
        raise ValueError(f"{value!r} is not a branch name: {why} (git check-ref-format rules)")
    return value


def _secret_key(value: str) -> str:
    if not SECRET_KEY_RE.match(value):
        raise ValueError(f"{value!r} is not a Secret key (letters, digits, '-', '_' and '.', at most 253 characters)")
    return value


def _url_path(value: str) -> str:
    if not URL_PATH_RE.match(value):
        raise ValueError(f"{value!r} is not an absolute URL path (it starts with '/' and holds no spaces, e.g. /healthz)")
    return value


def _quantity(value: str | int | float) -> str:
    text = repr(value) if isinstance(value, float) else str(value)
    if not QUANTITY_RE.match(text):
        raise ValueError(f"{text!r} is not a Kubernetes quantity (e.g. 500m, 2, 512Mi, 20Gi)")
    return text


def _env_name(value: str) -> str:
    if not ENV_NAME_RE.match(value):
        raise ValueError(f"{value!r} is not a valid environment variable name")
    return value


def _k8s_version(value: str) -> str:
    if not K8S_VERSION_RE.match(value):
        raise ValueError(f"{value!r} is not a supported Kubernetes version (1.25 to 1.37, e.g. '1.34')")
    parts = value.split(".")
    return f"{parts[0]}.{parts[1]}.{parts[2] if len(parts) > 2 else '0'}"


DnsLabel = Annotated[str, AfterValidator(_dns_label), _pattern(DNS_LABEL_RE.pattern)]
KafkaTopic = Annotated[str, AfterValidator(_kafka_topic), _pattern(KAFKA_TOPIC_RE.pattern)]
DnsLabelKey = Annotated[str, AfterValidator(_dns_label)]  # mapping keys: their pattern is the field's `propertyNames`
DnsName = Annotated[str, AfterValidator(_dns_name), _pattern(DNS_NAME_RE.pattern)]
Domain = Annotated[str, AfterValidator(_domain), _pattern(DNS_NAME_RE.pattern)]
Quantity = Annotated[str | int | float, AfterValidator(_quantity)]
Size = Annotated[Quantity, AfterValidator(_positive)]
EnvName = Annotated[str, AfterValidator(_env_name), _pattern(ENV_NAME_RE.pattern)]
Port = Annotated[int, Field(ge=1, le=65535)]
Host = Annotated[str, AfterValidator(_host), _pattern(HOST_PATTERN)]
ImageRef = Annotated[str, AfterValidator(_image)]
SecretKey = Annotated[str, AfterValidator(_secret_key), _pattern(SECRET_KEY_RE.pattern)]
UrlPath = Annotated[str, AfterValidator(_url_path), _pattern(URL_PATH_RE.pattern)]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]
KubernetesVersion = Annotated[str, AfterValidator(_k8s_version), _pattern(K8S_VERSION_RE.pattern)]
Branch = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._/-]{1,200}$"), AfterValidator(_branch)]
# `json_schema_extra` for a mapping keyed by DNS labels (names of components, apps, environments, pools).
DNS_LABEL_KEYS = keys_pattern(DNS_LABEL_RE)


# An absolute path inside a container, each segment of the characters a ConfigMap key allows (a file's key is made from it).
MOUNT_PATH_RE = re.compile(r"^(/[-._a-zA-Z0-9]+)+$")
# Permission bits of a mounted file, as an octal string (`"0644"`): YAML 1.1 reads a bare 0644 as the number 420.
FILE_MODE_RE = re.compile(r"^0?[0-7]{3}$")


def _mount_path(value: str) -> str:
    if not MOUNT_PATH_RE.match(value) or any(part in (".", "..") for part in value.split("/")):
        raise ValueError(f"{value!r} is not an absolute path in the container (e.g. /etc/app/config.yaml: segments of letters, digits, '-', '_', '.', no '..')")
    return value


def _file_mode(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f"write the mode as a quoted octal string (e.g. \"0644\"), not the number {value}")
    if isinstance(value, str) and not FILE_MODE_RE.match(value):
        raise ValueError(f"{value!r} is not an octal file mode (e.g. \"0644\" or \"0755\")")
    return value


MountPath = Annotated[str, AfterValidator(_mount_path), _pattern(MOUNT_PATH_RE.pattern)]
FileMode = Annotated[str, BeforeValidator(_file_mode), _pattern(FILE_MODE_RE.pattern)]
