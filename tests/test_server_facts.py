"""What a server runs on and with, from its side (evals/engine/facts.py): its own GPUs, the
kernels vLLM chose (from its log), its VLLM_* environment; the report names the kernel."""

import pytest

from evals.engine import facts as server_facts
from evals.report.markdown import precision_label
from tests import fake_nvidia_smi

LOG = """\
(APIServer pid=1) INFO 11-28 01:42:56 [model.py:2152] Using max model len 40960
(EngineCore pid=2) INFO 11-28 01:43:20 [__init__.py:1196] Using MarlinNvFp4LinearKernel for NVFP4 GEMM
(EngineCore pid=2) INFO 11-28 01:43:21 [__init__.py:758] Selected CutlassFP8ScaledMMLinearKernel for Fp8LinearMethod
(EngineCore pid=2) INFO 11-28 01:43:22 [utils.py:347] Using LBHNC KV cache layout.
"""


def test_kernels_come_from_vllms_own_lines_and_nothing_else():
    assert server_facts.kernels(LOG) == {"NVFP4 GEMM": "MarlinNvFp4LinearKernel",
                                         "Fp8LinearMethod": "CutlassFP8ScaledMMLinearKernel"}
    assert server_facts.kernels("(EngineCore pid=2) INFO Using LBHNC KV cache layout.") == {}


def test_the_servers_own_gpus_not_the_first_one_this_process_sees(tmp_path, monkeypatch):
    fake_nvidia_smi.first_on_path(monkeypatch, fake_nvidia_smi.write(tmp_path, fake_nvidia_smi.MIXED_HOST))
    gpus = server_facts.server_gpus("2,3", 2)
    assert [g["name"] for g in gpus] == ["NVIDIA B200", "NVIDIA B200"] and server_facts.architecture(gpus) == "sm_100"
    assert server_facts.architecture(server_facts.server_gpus("1,2", 2)) == "sm_100+sm_90"
    monkeypatch.setenv("PATH", str(tmp_path / "none"))
    assert server_facts.server_gpus("0", 1) == [] and server_facts.architecture([]) == "unknown"


@pytest.fixture
def h100_node(tmp_path, monkeypatch):
    """The 8-GPU H100 node's nvidia-smi first on PATH."""
    fake_nvidia_smi.first_on_path(monkeypatch, fake_nvidia_smi.write(tmp_path, fake_nvidia_smi.H100_HOST,
                                                                     fake_nvidia_smi.H100_LIST))


def indices(gpus) -> list[str]:
    return [g["index"] for g in gpus]


def test_a_server_records_only_the_gpus_its_tensor_parallel_size_uses(h100_node):
    gpus = server_facts.server_gpus(None, 2)  # no CUDA_VISIBLE_DEVICES: the host's first two, not all eight
    uuids, h100 = fake_nvidia_smi.H100_UUIDS, fake_nvidia_smi.H100
    assert gpus == [{"index": "0", "uuid": uuids[0], "name": h100, "capability": "9.0"},
                    {"index": "1", "uuid": uuids[1], "name": h100, "capability": "9.0"}]
    assert indices(server_facts.server_gpus("3,5", 2)) == ["3", "5"]
    assert indices(server_facts.server_gpus(" 3, 5 ", 2)) == ["3", "5"]
    assert indices(server_facts.server_gpus("3,5,6,7", 2)) == ["3", "5"]  # a worker's pool: its first two
    assert indices(server_facts.server_gpus("3,5", 1)) == ["3"]
    assert indices(server_facts.server_gpus("", 2)) == []  # set and empty: CUDA shows no GPU


def test_uuids_and_unique_uuid_prefixes_name_their_gpus(h100_node):
    uuids = fake_nvidia_smi.H100_UUIDS
    gpus = server_facts.server_gpus(f"{uuids[6]},{uuids[2]}", 2)
    assert indices(gpus) == ["6", "2"] and [g["uuid"] for g in gpus] == [uuids[6], uuids[2]]
    assert server_facts.architecture(gpus) == "sm_90"
    assert indices(server_facts.server_gpus("GPU-4d8e,GPU-8f3c9", 2)) == ["4", "3"]  # prefixes, as CUDA accepts
    assert indices(server_facts.server_gpus(uuids[5].upper(), 1)) == ["5"]
    assert indices(server_facts.server_gpus(f"1,{uuids[7]}", 2)) == ["1", "7"]  # indices and UUIDs mixed


def test_a_mig_device_is_its_parent_gpu(h100_node):
    [gpu] = server_facts.server_gpus(fake_nvidia_smi.H100_MIG, 1)
    assert gpu["index"] == "7" and gpu["uuid"] == fake_nvidia_smi.H100_UUIDS[7]
    assert gpu["mig"] == fake_nvidia_smi.H100_MIG
    assert server_facts.architecture([gpu]) == "sm_90"
    [prefixed] = server_facts.server_gpus("MIG-3a1f", 1)
    assert prefixed["mig"] == fake_nvidia_smi.H100_MIG
    # drivers before R470 named a slice MIG-GPU-<uuid>/<instance>/<compute instance>
    assert indices(server_facts.server_gpus(f"MIG-{fake_nvidia_smi.H100_UUIDS[4]}/1/0", 1)) == ["4"]


@pytest.mark.parametrize("devices", [
    "GPU-deadbeef-0000-4000-8000-000000000000",  # no such GPU here
    "GPU-8f3c",  # the prefix of two GPUs' UUIDs
    "MIG-ffff0000",  # no such slice
    "9",  # no GPU 9 on an 8-GPU node
    "GPU-deadbeef,1",  # CUDA stops at the first device it cannot find: GPU 1 is not the server's
])
def test_a_device_that_names_no_gpu_here_is_not_taken_for_another(h100_node, devices):
    gpus = server_facts.server_gpus(devices, 2)
    assert gpus == [] and server_facts.architecture(gpus) == "unknown"


def test_the_gpus_before_an_unknown_device_are_still_the_servers(h100_node):
    assert indices(server_facts.server_gpus("2,GPU-deadbeef,5", 2)) == ["2"]


def test_vllm_env_keeps_only_vllms_variables(monkeypatch):
    monkeypatch.setenv("VLLM_USE_DEEP_GEMM", "0")
    env = server_facts.vllm_env({"VLLM_PORT": "12000", "CUDA_VISIBLE_DEVICES": "0,1"})
    assert env["VLLM_PORT"] == "12000" and env["VLLM_USE_DEEP_GEMM"] == "0" and "CUDA_VISIBLE_DEVICES" not in env


def test_the_report_labels_a_precision_with_its_kernel():
    report = {"kernels": {"nvfp4": {"NVFP4 GEMM": "MarlinNvFp4LinearKernel"}}}
    assert precision_label(report, "nvfp4") == "NVFP4 (MarlinNvFp4LinearKernel)"
    assert precision_label(report, "bf16") == "BF16"
