"""Llama-3 8B: KV cache per request (GQA vs the multi-head formula) and the requests one H100
holds (static allocation vs pages) against context length."""
import mlsysim
from mlsysim.registry import assumption, precision_bytes
from mlsysim.serving import kv_bytes_per_request, kv_bytes_per_request_mha

from _style import FIGSIZE, SEQUENCE, save, subplots

CONTEXTS = [512, 1024, 2048, 3072, 4096, 5120, 6144, 7168, 8192]


def main(out_path):
    llama, hw = mlsysim.Models.Language.Llama3_8B, mlsysim.Hardware.Cloud.H100
    b = precision_bytes(assumption("serving", "precision"))
    page = int(assumption("paging", "page_tokens"))
    cb = mlsysim.ContinuousBatchingModel()
    runs = [cb.solve(llama, hw, seq_len=s, page_size=page) for s in CONTEXTS]
    fig, (a, c) = subplots(1, 2, figsize=FIGSIZE["kv_concurrency"])
    a.plot(CONTEXTS, [kv_bytes_per_request(llama, s, b) / 1e9 for s in CONTEXTS], "o-", color=SEQUENCE[0],
           ms=3, label=f"as stored (GQA, {llama.spec.si('num_kv_heads')} KV heads)")
    a.plot(CONTEXTS, [kv_bytes_per_request_mha(llama, s, b) / 1e9 for s in CONTEXTS], "s--", color=SEQUENCE[5],
           ms=3, label=f"multi-head formula ({llama.spec.si('num_heads')} heads)")
    a.set_xlabel("Context (tokens)")
    a.set_ylabel("KV cache per request (GB)")
    a.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0))
    c.plot(CONTEXTS, [r.memory_limit for r in runs], "o-", color=SEQUENCE[1], ms=3, label=f"paged ({page}-token pages)")
    c.plot(CONTEXTS, [r.static_limit for r in runs], "s--", color=SEQUENCE[3], ms=3,
           label="static (whole window reserved)")
    c.set_xlabel("Context (tokens)")
    c.set_ylabel(f"Requests on one {hw.name}")  # lint: allow one: a single GPU
    c.set_yscale("log")
    c.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0))
    save(fig, out_path)
