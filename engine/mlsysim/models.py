"""Models: architectures from specs/models.toml, with the counts derived from them."""
from __future__ import annotations

from .core import _derived as f
from .spec import Spec, record_all, reading


def derived(fn):
    """A cached property computed from spec values; later reads replay the spec keys it read."""
    name = fn.__name__

    def get(self):
        hit = self.spec._cache.get(name)
        if hit is None:
            with reading() as keys:
                value = fn(self)
            hit = self.spec._cache[name] = (value, frozenset(keys))
        else:
            record_all(hit[1])
        return hit[0]

    get.__doc__ = fn.__doc__
    return property(get)


class Model:
    def __init__(self, spec: Spec):
        self.spec = spec
        self.key = spec.table

    @property
    def name(self) -> str:
        return self.spec.si("name")

    def __getattr__(self, field: str):
        if field.startswith("_") or field == "spec":
            raise AttributeError(field)
        return self.spec.quantity(field)

    def __repr__(self):
        return f"<{type(self).__name__} {self.key}>"


class TransformerModel(Model):
    """A decoder-only transformer (Llama-3 family): GQA attention, SwiGLU FFN (or GPT's two-matrix MLP:
    ffn_matrices = 2), tied or untied embeddings."""

    kind = "transformer"

    @derived
    def parameters(self) -> int:
        """Parameter count derived from the architecture (derivations.parameter_count)."""
        s = self.spec.si
        return int(f.parameter_count(s("vocab_size"), s("hidden_size"), s("layers"), s("num_heads"),
                                     s("num_kv_heads"), s("head_dim"), s("ffn_size"),
                                     self.spec.get("ffn_matrices", 3),  # absent: SwiGLU's three
                                     1 if s("tied_embeddings") else 2))

    @derived
    def matmul_parameters(self) -> int:
        """Parameters a decode step streams: all but the input embedding table.

        With tied embeddings (Llama-3.2 1B) that table is also the output head, which every step
        multiplies by, so all parameters are streamed."""
        if self.spec.si("tied_embeddings"):
            return self.parameters
        return int(f.matmul_parameters(self.parameters, self.spec.si("vocab_size"),
                                       self.spec.si("hidden_size")))

    def kv_bytes_per_token(self, bytes_per_element: float) -> float:
        s = self.spec.si
        return f.kv_cache_bytes_per_token(s("layers"), s("num_kv_heads"), s("head_dim"), bytes_per_element)

    def weight_bytes(self, bytes_per_element: float) -> float:
        return self.parameters * bytes_per_element


class CNNModel(Model):
    """A convolutional network described by its totals (ResNet-50)."""

    kind = "cnn"

    @property
    def parameters(self) -> int:
        return self.spec.si("parameters")

    def weight_bytes(self, bytes_per_element: float) -> float:
        return self.parameters * bytes_per_element


def make_model(spec: Spec) -> Model:
    return {"transformer": TransformerModel, "cnn": CNNModel}[spec.si("kind")](spec)
