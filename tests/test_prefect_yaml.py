"""prefect.yaml describes a deployment that `prefect deploy` can register and a worker can run."""

from __future__ import annotations

import yaml

from tests.paths import REPO

PREFECT_YAML = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))


def _deployment() -> dict:
    (deployment,) = PREFECT_YAML["deployments"]
    return deployment


def test_the_entrypoint_is_the_deployment_flow():
    from prefect.flows import load_flow_from_entrypoint

    from flows.deployment import FLOW_NAME

    path, function = _deployment()["entrypoint"].split(":")
    flow = load_flow_from_entrypoint(f"{REPO / path}:{function}")
    assert flow.name == FLOW_NAME and flow.fn.__name__ == "scheduled_clean"


def test_the_parameters_validate_against_the_flow_and_the_config_model():
    from prefect.flows import load_flow_from_entrypoint

    from flows.deployment import deployment_config

    parameters = _deployment()["parameters"]
    path, function = _deployment()["entrypoint"].split(":")
    flow = load_flow_from_entrypoint(f"{REPO / path}:{function}")
    validated = flow.validate_parameters(parameters)
    assert validated == {"config_file": None, "full": False, "resume": False, **parameters}
    config = deployment_config(**parameters)  # the flow's own reading of them
    assert [str(p) for p in config.inputs] == ["data/sample"]
    assert (REPO / config.inputs[0]).is_dir()  # runnable as it is, from the pull step's folder


def test_the_schedule_is_nightly_and_valid():
    from prefect.client.schemas.schedules import CronSchedule

    (schedule,) = _deployment()["schedules"]
    parsed = CronSchedule(cron=schedule["cron"], timezone=schedule["timezone"])
    assert (parsed.cron, parsed.timezone) == ("0 3 * * *", "UTC")


def test_runs_start_in_the_deployed_folder_of_a_named_work_pool():
    (step,) = PREFECT_YAML["pull"]
    assert step["prefect.deployments.steps.set_working_directory"]["directory"] == "{{ $PWD }}"
    assert _deployment()["work_pool"]["name"] == "zhclean"
    assert _deployment()["name"] == "nightly"
