"""Checks the deployment files without a cluster or Docker. The Helm chart: lint it, render it for
the default values and for helm/values-production.yaml, validate every rendered manifest against the
Kubernetes schemas, and hold it to what docs/operations.md promises (probes, security context,
routes, secrets, hooks). The compose file: its services, their order and the gateway's routes.
The Dockerfile: its stages, base, user and binaries.

    pip install -r deploy/requirements.txt && python3 deploy/check.py

Exits non-zero, naming each failure, if anything is off.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import helm_python as helm
import kubernetes_validate
import yaml

HERE = Path(__file__).resolve().parent
CHART = HERE / "helm" / "writ"
KUBERNETES = ["1.30.0", "1.34.0"]
COMPONENTS = {"issuer": "writ-issuer", "admin": "writ-admin", "guard": "writ-guard"}
ROUTES = {
    "/oauth": "issuer",
    "/.well-known": "issuer",
    "/openapi/issuer.json": "issuer",
    "/admin": "admin",
    "/openapi/admin.json": "admin",
    "/docs": "admin",
    "/guard": "guard",
    "/openapi/guard.json": "guard",
}
# Custom resources, which the Kubernetes schemas do not cover: checked by hand below.
CUSTOM = {("monitoring.coreos.com/v1", "ServiceMonitor")}

failures: list[str] = []


def check(ok: bool, what: str) -> None:
    if not ok:
        failures.append(what)


def render(values: dict, name: str = "writ") -> list[dict]:
    chart = helm.Chart.load(str(CHART))
    chart.validate_schema(values)
    manifests = chart.render(values, name=name, namespace="auth", is_install=True)
    docs = []
    for path, text in manifests.items():
        if path.endswith("NOTES.txt"):
            continue
        docs.extend(d for d in yaml.safe_load_all(text) if d)
    return docs


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def validate(label: str, docs: list[dict]) -> None:
    for doc in docs:
        key = (doc["apiVersion"], doc["kind"])
        name = f"{label}: {doc['kind']} {doc['metadata']['name']}"
        if key in CUSTOM:
            check(bool(doc["spec"]["endpoints"]) and bool(doc["spec"]["selector"]), f"{name}: empty")
            continue
        for version in KUBERNETES:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except Exception as e:  # the library raises several error types
                failures.append(f"{name} against Kubernetes {version}: {str(e).splitlines()[0]}")


def check_workloads(label: str, docs: list[dict], release: str) -> None:
    deployments = by_kind(docs, "Deployment")
    services = by_kind(docs, "Service")
    check(set(deployments) == {f"{release}-{c}" for c in COMPONENTS}, f"{label}: deployments {sorted(deployments)}")
    check(set(services) == {f"{release}-{c}" for c in COMPONENTS}, f"{label}: services {sorted(services)}")
    pods = [(n, d["spec"]["template"]["spec"]) for n, d in deployments.items()]
    pods += [(n, j["spec"]["template"]["spec"]) for n, j in by_kind(docs, "Job").items()]
    for name, pod in pods:
        sc = pod["securityContext"]
        check(sc.get("runAsNonRoot") is True and sc.get("runAsUser", 0) != 0, f"{label}: {name} may run as root")
        check(pod.get("automountServiceAccountToken") is False, f"{label}: {name} mounts an API token")
        for c in pod["containers"]:
            csc = c["securityContext"]
            check(csc.get("readOnlyRootFilesystem") is True, f"{label}: {name} root filesystem is writable")
            check(csc.get("allowPrivilegeEscalation") is False, f"{label}: {name} may escalate")
            check(csc.get("capabilities", {}).get("drop") == ["ALL"], f"{label}: {name} keeps capabilities")
            check("memory" in c["resources"].get("limits", {}), f"{label}: {name} has no memory limit")
            env = {e["name"]: e for e in c["env"]}
            for secret_env in ["WRIT_DATABASE_URL", "WRIT_REDIS_URL", "WRIT_KEK", "WRIT_PEPPER"]:
                check("valueFrom" in env.get(secret_env, {}), f"{label}: {name} {secret_env} not from a Secret")
            check(env.get("WRIT_AUTO_MIGRATE", {}).get("value") == "false", f"{label}: {name} migrates itself")
    for component, binary in COMPONENTS.items():
        d = deployments.get(f"{release}-{component}")
        if d is None:
            continue
        c = d["spec"]["template"]["spec"]["containers"][0]
        check(c["command"] == [f"/usr/local/bin/{binary}"], f"{label}: {component} runs {c['command']}")
        check(c["livenessProbe"]["httpGet"]["path"] == "/healthz", f"{label}: {component} liveness probe")
        check(c["readinessProbe"]["httpGet"]["path"] == "/readyz", f"{label}: {component} readiness probe")
        check(c["startupProbe"]["httpGet"]["path"] == "/healthz", f"{label}: {component} startup probe")
        selector = services[f"{release}-{component}"]["spec"]["selector"]
        labels = d["spec"]["template"]["metadata"]["labels"]
        check(all(labels.get(k) == v for k, v in selector.items()), f"{label}: {component} service selects nothing")
        check(selector.get("app.kubernetes.io/component") == component, f"{label}: {component} service selector")
    # Each PodDisruptionBudget and HPA points at a Deployment of the release.
    for pdb in by_kind(docs, "PodDisruptionBudget").values():
        match = pdb["spec"]["selector"]["matchLabels"]
        check(any(all(d["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in match.items())
                  for d in deployments.values()), f"{label}: PDB {pdb['metadata']['name']} selects no pods")
    for hpa in by_kind(docs, "HorizontalPodAutoscaler").values():
        target = hpa["spec"]["scaleTargetRef"]["name"]
        check(target in deployments, f"{label}: HPA targets {target}")
        check("replicas" not in deployments.get(target, {}).get("spec", {}), f"{label}: {target} fixes replicas under an HPA")


def check_ingress(label: str, docs: list[dict], release: str) -> None:
    ingresses = list(by_kind(docs, "Ingress").values())
    check(len(ingresses) == 1, f"{label}: {len(ingresses)} ingresses")
    if not ingresses:
        return
    paths = {p["path"]: p["backend"]["service"]["name"] for p in ingresses[0]["spec"]["rules"][0]["http"]["paths"]}
    want = {path: f"{release}-{component}" for path, component in ROUTES.items()}
    check(paths == want, f"{label}: ingress routes {paths}")


def check_metrics_and_policies(label: str, docs: list[dict]) -> None:
    """/metrics on its own port, never the API's; a NetworkPolicy per component admitting the API
    port from the ingress controller only and the metrics port from the scraper only; every
    component trusting the proxies in front of it."""
    for name, d in by_kind(docs, "Deployment").items():
        c = d["spec"]["template"]["spec"]["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        env = {e["name"]: e.get("value") for e in c["env"]}
        metrics_addr = env.get("WRIT_METRICS_ADDR") or ""
        check("metrics" in ports and metrics_addr.endswith(f":{ports['metrics']}") and ports["metrics"] != ports["http"],
              f"{label}: {name} metrics on {metrics_addr}, ports {ports}")
        check(bool(env.get("WRIT_TRUSTED_PROXIES")), f"{label}: {name} trusts no proxy")
    for name, svc in by_kind(docs, "Service").items():
        check("metrics" in {p["name"] for p in svc["spec"]["ports"]}, f"{label}: service {name} has no metrics port")
    policies = by_kind(docs, "NetworkPolicy")
    check(len(policies) == 3, f"{label}: {len(policies)} network policies")
    for name, policy in policies.items():
        rules = {r["ports"][0]["port"]: r.get("from", []) for r in policy["spec"]["ingress"]}
        check(set(rules) == {"http", "metrics"}, f"{label}: {name} admits ports {sorted(rules)}")
        check(all(f.get("namespaceSelector") for f in rules.get("http", [{}])), f"{label}: {name} API open to {rules.get('http')}")
    for monitor in by_kind(docs, "ServiceMonitor").values():
        check([e["port"] for e in monitor["spec"]["endpoints"]] == ["metrics"], f"{label}: ServiceMonitor scrapes {monitor['spec']['endpoints']}")


def check_hooks(label: str, docs: list[dict]) -> None:
    jobs = by_kind(docs, "Job")
    check(len(jobs) == 1, f"{label}: {len(jobs)} jobs")
    for job in jobs.values():
        hook = job["metadata"]["annotations"]["helm.sh/hook"]
        check(hook == "pre-install,pre-upgrade", f"{label}: migrations run at {hook}")
        command = job["spec"]["template"]["spec"]["containers"][0]["command"]
        check(command == ["/usr/local/bin/writ", "migrate"], f"{label}: migration command {command}")


def check_image() -> None:
    """The Dockerfile, read (this check runs where no Docker daemon does): its stages, that the
    final one runs as a non-root user on a minimal base, and that it ships exactly the workspace's
    binaries."""
    text = (HERE / "docker" / "Dockerfile").read_text()
    stages = [l.split() for l in text.splitlines() if l.startswith("FROM ")]
    check(len(stages) >= 3, f"image: {len(stages)} stages")
    final = stages[-1][1] if stages else ""
    check("distroless" in final and final.endswith(":nonroot"), f"image: final base {final}")
    users = [l.split()[1] for l in text.splitlines() if l.startswith("USER ")]
    check(bool(users) and users[-1].split(":")[0] not in ("0", "root"), f"image: runs as {users}")
    check("cargo chef cook" in text, "image: dependencies are not cached in their own layer")
    root = HERE.parent
    binaries = sorted(
        p.parent.parent.name for p in root.glob("crates/*/src/main.rs")
    )
    for binary in binaries:
        check(f"target/release/{binary}" in text and f"-p {binary}" in text, f"image: {binary} missing")
    ignored = (root / ".dockerignore").read_text().split()
    check({".git", "target"} <= set(ignored), f"image: .dockerignore {ignored}")


def check_compose() -> None:
    compose = yaml.safe_load((HERE / "compose.yaml").read_text())
    services = compose["services"]
    want = {"postgres", "redis", "migrate", "issuer", "admin", "guard", "gateway", "otel-collector"}
    check(want <= set(services), f"compose: services {sorted(services)}")
    for name, service in services.items():
        depends = service.get("depends_on", [])
        check(all(d in services for d in depends), f"compose: {name} depends on {list(depends)}")
    for name, binary in COMPONENTS.items():
        service = services.get(name, {})
        check(service.get("entrypoint") == [f"/usr/local/bin/{binary}"], f"compose: {name} runs {service.get('entrypoint')}")
        after = service.get("depends_on", {}).get("migrate", {})
        check(after.get("condition") == "service_completed_successfully", f"compose: {name} starts before migrations")
        check(service.get("environment", {}).get("WRIT_AUTO_MIGRATE") == "false", f"compose: {name} migrates itself")
        check(service.get("read_only") is True, f"compose: {name} has a writable root filesystem")
    check(services.get("migrate", {}).get("command") == ["migrate"], "compose: no migration step")
    # The services believe the gateway's X-Forwarded-For, and only the gateway's.
    gateway_ip = services.get("gateway", {}).get("networks", {}).get("default", {}).get("ipv4_address")
    for name in COMPONENTS:
        trusted = services.get(name, {}).get("environment", {}).get("WRIT_TRUSTED_PROXIES")
        check(gateway_ip is not None and trusted == gateway_ip, f"compose: {name} trusts {trusted}, the gateway is {gateway_ip}")
    # Revocations must outlive a Redis restart: the append-only file, on a volume.
    redis = services.get("redis", {})
    command = redis.get("command", [])
    appendonly = "--appendonly" in command and command[command.index("--appendonly") + 1 :][:1] == ["yes"]
    check(appendonly, f"compose: Redis keeps no append-only file ({command})")
    check(any(str(v).endswith(":/data") for v in redis.get("volumes", [])), "compose: Redis /data is not a volume")
    # The gateway routes like the chart's Ingress.
    nginx = (HERE / "compose" / "nginx.conf").read_text()
    for path, component in ROUTES.items():
        exact = path.endswith(".json") or path == "/docs"
        location = f"location = {path} " if exact else f"location {path}/ "
        line = next((l for l in nginx.splitlines() if l.strip().startswith(location)), "")
        check(f"http://{component}:8080" in line, f"compose: gateway sends {path} to {line.strip() or 'nothing'}")


def main() -> int:
    defaults: dict = {}
    production = yaml.safe_load((HERE / "helm" / "values-production.yaml").read_text())

    for label, values in [("default values", defaults), ("values-production.yaml", production)]:
        report = helm.lint(str(CHART), values, strict=True, kube_version="v1.30.0")
        for m in report.get("messages", []):
            if m.get("severity", 0) >= 2:
                failures.append(f"{label}: lint: {m.get('path')}: {m.get('error')}")
        failures.extend(f"{label}: lint: {e}" for e in report.get("errors", []))

    docs = render(defaults)
    validate("default values", docs)
    check_workloads("default values", docs, "writ")
    check_ingress("default values", docs, "writ")
    check_hooks("default values", docs)
    secrets = by_kind(docs, "Secret")
    check(list(secrets) == ["writ-secrets"], f"default values: secrets {list(secrets)}")
    for secret in secrets.values():
        check(secret["metadata"]["annotations"].get("helm.sh/hook-weight") == "-10",
              "default values: the Secret is not created before the migration Job")
        for key in ["kek", "pepper"]:
            raw = base64.b64decode(base64.b64decode(secret["data"][key]))
            check(len(raw) == 32, f"default values: generated {key} is {len(raw)} bytes, not 32")
    check_metrics_and_policies("default values", docs)
    check(not by_kind(docs, "ServiceMonitor"), "default values: a ServiceMonitor without the operator's CRDs")

    docs = render(production, name="auth")
    validate("values-production.yaml", docs)
    check_workloads("values-production.yaml", docs, "auth-writ")
    check_ingress("values-production.yaml", docs, "auth-writ")
    check_hooks("values-production.yaml", docs)
    check(not by_kind(docs, "Secret"), "values-production.yaml: a Secret is rendered beside existingSecret")
    for d in by_kind(docs, "Deployment").values():
        for e in d["spec"]["template"]["spec"]["containers"][0]["env"]:
            if "valueFrom" in e:
                check(e["valueFrom"]["secretKeyRef"]["name"] == "writ-production",
                      f"values-production.yaml: {e['name']} not from the existing Secret")
    check(len(by_kind(docs, "HorizontalPodAutoscaler")) == 3, "values-production.yaml: HPAs")
    check_metrics_and_policies("values-production.yaml", docs)
    check(len(by_kind(docs, "ServiceMonitor")) == 1, "values-production.yaml: ServiceMonitor")

    # Bad values are refused by values.schema.json before anything renders.
    chart = helm.Chart.load(str(CHART))
    for bad in [
        {"components": {"issuer": {"replicas": 0}}},
        {"secrets": {"kek": "not base64 of 32 bytes"}},
        {"settings": {"WRIT_DATABASE_URL": "postgres://bypassing-the-secret"}},
        {"settings": {"WRIT_METRICS_ADDR": "0.0.0.0:8080"}},
        {"trustedProxies": ["proxy.internal"]},
        {"database": {"url": "mysql://nope"}},
        {"unknownKey": True},
    ]:
        try:
            chart.validate_schema(bad)
            failures.append(f"schema accepted {bad}")
        except helm.HelmValuesError:
            pass

    check_compose()
    check_image()

    for f in failures:
        print(f"deploy: {f}", file=sys.stderr)
    print(f"deploy: {'FAILED' if failures else 'ok'} (chart: lint, render, schemas for 2 values files; compose; Dockerfile)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
