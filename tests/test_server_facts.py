"""What a server runs on and with, from its side (evals/engine/facts.py): its own GPUs, the
kernels vLLM chose (from its log), its VLLM_* environment; the report names the kernel."""

import os
import stat

from evals.engine import facts as server_facts
from evals.report.markdown import precision_label

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
    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\nprintf '0, NVIDIA H100 80GB HBM3, 9.0\\n1, NVIDIA H100 80GB HBM3, 9.0\\n"
                   "2, NVIDIA B200, 10.0\\n3, NVIDIA B200, 10.0\\n'\n")
    smi.chmod(smi.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    gpus = server_facts.server_gpus("2,3")
    assert [g["name"] for g in gpus] == ["NVIDIA B200", "NVIDIA B200"] and server_facts.architecture(gpus) == "sm_100"
    assert server_facts.architecture(server_facts.server_gpus("1,2")) == "sm_100+sm_90"
    monkeypatch.setenv("PATH", str(tmp_path / "none"))
    assert server_facts.server_gpus("0") == [] and server_facts.architecture([]) == "unknown"


def test_vllm_env_keeps_only_vllms_variables(monkeypatch):
    monkeypatch.setenv("VLLM_USE_DEEP_GEMM", "0")
    env = server_facts.vllm_env({"VLLM_PORT": "12000", "CUDA_VISIBLE_DEVICES": "0,1"})
    assert env["VLLM_PORT"] == "12000" and env["VLLM_USE_DEEP_GEMM"] == "0" and "CUDA_VISIBLE_DEVICES" not in env


def test_the_report_labels_a_precision_with_its_kernel():
    report = {"kernels": {"nvfp4": {"NVFP4 GEMM": "MarlinNvFp4LinearKernel"}}}
    assert precision_label(report, "nvfp4") == "NVFP4 (MarlinNvFp4LinearKernel)"
    assert precision_label(report, "bf16") == "BF16"
