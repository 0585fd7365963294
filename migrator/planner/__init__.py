"""The planner: findings and overrides in, Kubernetes objects out. Pure: no IO, no globals.

    builder.build_plan(hosts, overrides, namespace, network_policies) -> model.Plan
        analyzers.estate first; then groups (cluster -> StatefulSet, agent -> DaemonSet, same app on
        several hosts -> replicas), workloads (one app: image, command, volumes, secrets), configs
        (config files as ConfigMaps at their paths, the unit's environment, placeholder Secrets for
        redacted secrets, TLS Secrets for the certificates a config names), jobs (CronJobs), network (exposure, waits, rewritten addresses, policies, HPA, waves), datasteps
    objects.to_objects(plan)              -> kubernetes client models, one function per kind
    render.render_yaml(objects)           -> deterministic multi-document YAML
    validate.validate_yaml(text)          -> problems found by schema and cross-checks
    export.export_plan(plan)              -> the YAML of a plan
    export.export_kustomize(plan)         -> {path: text}: a Kustomize tree per wave, Dockerfiles, NOTES.md
    export.generated_files(plan)          -> {path: text}: the Dockerfiles and NOTES.md alone
"""
