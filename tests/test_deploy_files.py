"""The cluster files in deploy/ agree with the course and with each other.

No cluster runs here: these tests cannot prove the files deploy, only that the settings they
share (image, exchange path, course id, shard count, chapters, files copied) say the same thing.
"""

import re
import shlex

import pytest
import yaml
from traitlets.config.loader import PyFileConfigLoader

from conftest import CHAPTERS, ROOT
from grading import settings

K8S = ROOT / "deploy" / "k8s"


def load(name):
    return list(yaml.safe_load_all((K8S / name).read_text()))


def student_config():
    return PyFileConfigLoader("student_nbgrader_config.py", path=str(K8S)).load_config()


@pytest.fixture
def values():
    (document,) = load("values.yaml")
    return document


@pytest.fixture
def grader():
    (job,) = load("grading-job.yaml")
    return job


def test_students_nbgrader_names_this_course_and_the_mounted_exchange(values):
    config = student_config()
    assert config.CourseDirectory.course_id == settings.COURSE_ID
    mounts = {m["name"]: m["mountPath"] for m in values["singleuser"]["storage"]["extraVolumeMounts"]}
    assert mounts["exchange"] == config.Exchange.root


def test_the_exchange_volume_is_shared_and_the_course_volume_is_never_given_to_students(values):
    claims = {d["metadata"]["name"]: d for d in load("exchange-volume.yaml")}
    assert all(claim["spec"]["accessModes"] == ["ReadWriteMany"] for claim in claims.values())
    student_volumes = {v["persistentVolumeClaim"]["claimName"] for v in values["singleuser"]["storage"]["extraVolumes"]}
    assert student_volumes == {"gd-exchange"}
    assert "gd-course" in claims


def test_students_and_grader_run_the_same_image(values, grader):
    image = values["singleuser"]["image"]
    (container,) = grader["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"{image['name']}:{image['tag']}"


def test_only_instructors_reach_the_formgrader(values):
    role = values["hub"]["loadRoles"]["formgrader"]
    assert role["groups"] == ["instructors"] and "users" not in role
    assert "access:services!service=formgrader" in role["scopes"]


def test_the_grading_job_runs_one_shard_per_pod_on_the_postgres_gradebook(grader):
    spec = grader["spec"]
    (container,) = spec["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    shards = int(env["SHARDS"]["value"])
    assert spec["completionMode"] == "Indexed" and spec["completions"] == spec["parallelism"] == shards
    command = shlex.split(container["args"][0])
    assert "autograde" in command and "SHARD=$JOB_COMPLETION_INDEX/$SHARDS" in command
    assert env["CHAPTER"]["value"] in CHAPTERS
    assert "secretKeyRef" in env["DB_URL"]["valueFrom"]


def test_every_file_the_image_copies_exists():
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    copied = re.findall(r"/srv/course/(\S+)", dockerfile)
    copied += [source for source in re.findall(r"^COPY (\S+) ", dockerfile, re.MULTILINE) if source != "."]
    assert copied, "the Dockerfile copies nothing from the course?"
    missing = [path for path in copied if not (ROOT / path).exists()]
    assert not missing, f"deploy/Dockerfile copies files that do not exist: {missing}"
