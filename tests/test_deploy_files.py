"""The cluster files in deploy/ agree with the course and with each other.

No cluster runs here: these tests cannot prove the files deploy, only that the settings they
share (image, exchange path, course id, shard count, chapter, files copied) say the same thing.
``disagreements`` lists what does not; it is tried on the real files and on broken copies.
"""

import copy
import re
import shlex

import pytest
import yaml
from traitlets.config.loader import PyFileConfigLoader

from conftest import CHAPTERS, ROOT
from grading import settings

pytestmark = pytest.mark.unit

DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"


def deploy_files():
    (values,) = yaml.safe_load_all((K8S / "values.yaml").read_text())
    (job,) = yaml.safe_load_all((K8S / "grading-job.yaml").read_text())
    claims = {d["metadata"]["name"]: d for d in yaml.safe_load_all((K8S / "exchange-volume.yaml").read_text())}
    student = PyFileConfigLoader("student_nbgrader_config.py", path=str(K8S)).load_config()
    return {"values": values, "job": job, "claims": claims, "student": student,
            "dockerfile": (DEPLOY / "Dockerfile").read_text()}


def disagreements(files):
    """Every way the deploy files disagree with the course or with each other (empty: none)."""
    return [problem for check in (student_side, volumes, image, formgrader, grading_job, copied_files)
            for problem in check(files)]


def student_side(files):
    student, storage = files["student"], files["values"]["singleuser"]["storage"]
    mounts = {m["name"]: m["mountPath"] for m in storage["extraVolumeMounts"]}
    problems = []
    if student.CourseDirectory.course_id != settings.COURSE_ID:
        problems.append(f"student course id {student.CourseDirectory.course_id!r} is not {settings.COURSE_ID!r}")
    if mounts.get("exchange") != student.Exchange.root:
        problems.append(f"exchange mounted at {mounts.get('exchange')}, students look in {student.Exchange.root}")
    return problems


def volumes(files):
    claims, storage = files["claims"], files["values"]["singleuser"]["storage"]
    given = {v["persistentVolumeClaim"]["claimName"] for v in storage["extraVolumes"]}
    problems = [f"{name} is not ReadWriteMany" for name, claim in claims.items()
                if claim["spec"]["accessModes"] != ["ReadWriteMany"]]
    if given != {"gd-exchange"}:
        problems.append(f"student servers mount {sorted(given)}: only the exchange, never the course volume")
    return problems


def container(files):
    (found,) = files["job"]["spec"]["template"]["spec"]["containers"]
    return found


def image(files):
    wanted = files["values"]["singleuser"]["image"]
    expected = f"{wanted['name']}:{wanted['tag']}"
    return [] if container(files)["image"] == expected else [f"grader image is not the student image {expected}"]


def formgrader(files):
    role = files["values"]["hub"]["loadRoles"]["formgrader"]
    if role.get("groups") != ["instructors"] or "users" in role:
        return ["the formgrader role reaches more than the instructors group"]
    return []


def grading_job(files):
    spec, grader = files["job"]["spec"], container(files)
    env = {e["name"]: e for e in grader["env"]}
    command = shlex.split(grader["args"][0])
    problems = []
    if not (spec["completionMode"] == "Indexed" and spec["completions"] == spec["parallelism"]
            == int(env["SHARDS"]["value"])):
        problems.append("the Job is not Indexed with completions = parallelism = SHARDS")
    if "autograde" not in command or "SHARD=$JOB_COMPLETION_INDEX/$SHARDS" not in command:
        problems.append("the Job does not run `make autograde SHARD=$JOB_COMPLETION_INDEX/$SHARDS`")
    if env["CHAPTER"]["value"] not in CHAPTERS:
        problems.append(f"the Job grades {env['CHAPTER']['value']}, not a chapter of the course")
    if "secretKeyRef" not in env.get("DB_URL", {}).get("valueFrom", {}):
        problems.append("the Job's DB_URL does not come from a secret")
    return problems


def copied_files(files):
    dockerfile = files["dockerfile"]
    copied = re.findall(r"/srv/course/(\S+)", dockerfile)
    copied += [source for source in re.findall(r"^COPY (\S+) ", dockerfile, re.MULTILINE) if source != "."]
    return [f"the Dockerfile copies {path}, which does not exist" for path in copied if not (ROOT / path).exists()]


def test_the_deploy_files_agree():
    assert disagreements(deploy_files()) == []


def set_in(files, path, value):
    broken = copy.deepcopy(files)
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return broken


BREAKAGES = {
    "wrong exchange mount": (("values", "singleuser", "storage", "extraVolumeMounts", 0, "mountPath"), "/exchange"),
    "course volume given to students": (("values", "singleuser", "storage", "extraVolumes", 0,
                                         "persistentVolumeClaim", "claimName"), "gd-course"),
    "another image": (("values", "singleuser", "image", "tag"), "old"),
    "formgrader for everyone": (("values", "hub", "loadRoles", "formgrader", "users"), ["*"]),
    "fewer pods than shards": (("job", "spec", "parallelism"), 7),
    "unknown chapter": (("job", "spec", "template", "spec", "containers", 0, "env", 0, "value"), "ch99_nothing"),
    "a missing file copied": (("dockerfile",), "COPY requirements.lock /x\n"),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_a_broken_copy_is_caught(breakage):
    path, value = BREAKAGES[breakage]
    assert disagreements(set_in(deploy_files(), path, value)), f"{breakage} went unnoticed"


def test_a_different_course_id_for_students_is_caught():
    files = deploy_files()
    files["student"].CourseDirectory.course_id = "another-course"
    assert any("course id" in problem for problem in disagreements(files))
