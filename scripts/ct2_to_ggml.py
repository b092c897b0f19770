#!/usr/bin/env python3
"""Convert a CTranslate2 Whisper model directory (model.bin + tokenizer.json) into a
whisper.cpp ggml file (f16 weights), for voxray's local speech-to-text.

Usage: python3 scripts/ct2_to_ggml.py CT2_DIR OUT.bin      (needs numpy only; < 10 s for tiny.en)

CTranslate2 model.bin (version >= 3): u32 version, string spec name, u32 revision, u32 variable
count; per variable a string name, u8 rank, u32 dims, u8 dtype (0=f32 1=i8 2=i16 3=i32 4=f16
5=bf16), u32 byte count and the data; then u32 alias count and (alias, target) string pairs.
Strings are u16 length + bytes (NUL-terminated). The ggml layout written is whisper.cpp's
`whisper_model_load`: magic, 11 hyper-parameters, the 80x201 Slaney mel filterbank, the byte
tokens below <|endoftext|>, then each tensor (n_dims, name length, type, dims reversed, name,
data). The fused self-attention QKV is split, the all-zero key bias dropped, the cross-attention
KV split, and CTranslate2 names are mapped to OpenAI's. Output is deterministic, so voxray pins
its sha256.
"""
import json
import re
import struct
import sys

import numpy as np

DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16, 5: "bfloat16"}


def read_ct2(path):
    """Returns (version, spec name, revision, {name: ndarray}, {alias: target})."""
    with open(path, "rb") as f:
        def u32():
            return struct.unpack("<I", f.read(4))[0]

        def u16():
            return struct.unpack("<H", f.read(2))[0]

        def u8():
            return struct.unpack("<B", f.read(1))[0]

        def string():
            return f.read(u16()).rstrip(b"\0").decode()

        version = u32()
        name = string()
        revision = u32()
        variables = {}
        for _ in range(u32()):
            var = string()
            rank = u8()
            dims = [u32() for _ in range(rank)]
            dtype = DTYPES[u8()]
            buf = f.read(u32())
            if dtype == "bfloat16":
                a = (np.frombuffer(buf, np.uint16).astype(np.uint32) << 16).view(np.float32)
            else:
                a = np.frombuffer(buf, dtype)
            variables[var] = a.reshape(dims) if dims else a
        aliases = {}
        if version >= 3:
            for _ in range(u32()):
                alias = string()
                aliases[alias] = string()
    return version, name, revision, variables, aliases


def bytes_to_unicode():
    """GPT-2's byte <-> printable unicode map (the tokenizer.json vocabulary alphabet)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def mel_filters(sr=16000, n_fft=400, n_mels=80):
    """librosa.filters.mel with the Slaney mel scale and norm (what Whisper's mel_filters.npz holds)."""
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0

    def hz_to_mel(f):
        f = np.asanyarray(f, dtype=np.float64)
        return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, f / f_sp)

    def mel_to_hz(m):
        m = np.asanyarray(m, dtype=np.float64)
        return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)

    fftfreqs = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2.0), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    w = np.zeros((n_mels, 1 + n_fft // 2))
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        w[i] = np.maximum(0, np.minimum(lower, upper))
    w *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]
    return w.astype(np.float32)


def convert(ct2_dir, out):
    _, _, _, V, aliases = read_ct2(f"{ct2_dir}/model.bin")
    for alias, target in aliases.items():
        V[alias] = V[target]

    def g(k):
        return V[k].astype(np.float32)

    n_enc = len({k.split("/")[1] for k in V if re.match(r"encoder/layer_\d+/", k)})
    n_dec = len({k.split("/")[1] for k in V if re.match(r"decoder/layer_\d+/", k)})
    d = V["encoder/conv1/weight"].shape[0]
    n_mels = V["encoder/conv1/weight"].shape[1]
    hp = dict(
        n_vocab=V["decoder/embeddings/weight"].shape[0],
        n_audio_ctx=V["encoder/position_encodings/encodings"].shape[0],
        n_audio_state=d,
        n_audio_head=int(V["encoder/num_heads"][0]),
        n_audio_layer=n_enc,
        n_text_ctx=V["decoder/position_encodings/encodings"].shape[0],
        n_text_state=d,
        n_text_head=int(V["decoder/num_heads"][0]),
        n_text_layer=n_dec,
        n_mels=n_mels,
    )
    T = {}
    T["encoder.conv1.weight"] = g("encoder/conv1/weight")
    T["encoder.conv1.bias"] = g("encoder/conv1/bias")
    T["encoder.conv2.weight"] = g("encoder/conv2/weight")
    T["encoder.conv2.bias"] = g("encoder/conv2/bias")
    T["encoder.positional_embedding"] = g("encoder/position_encodings/encodings")

    def ln(src, dst):
        T[f"{dst}.weight"] = g(f"{src}/gamma")
        T[f"{dst}.bias"] = g(f"{src}/beta")

    def attn_self(src, dst):
        q, k, v = np.split(g(f"{src}/linear_0/weight"), 3)
        qb, _kb, vb = np.split(g(f"{src}/linear_0/bias"), 3)  # the key bias is all zeros: dropped
        T[f"{dst}.query.weight"], T[f"{dst}.key.weight"], T[f"{dst}.value.weight"] = q, k, v
        T[f"{dst}.query.bias"] = qb
        T[f"{dst}.value.bias"] = vb
        T[f"{dst}.out.weight"] = g(f"{src}/linear_1/weight")
        T[f"{dst}.out.bias"] = g(f"{src}/linear_1/bias")

    def mlp(src, dst):
        T[f"{dst}.mlp.0.weight"] = g(f"{src}/linear_0/weight")
        T[f"{dst}.mlp.0.bias"] = g(f"{src}/linear_0/bias")
        T[f"{dst}.mlp.2.weight"] = g(f"{src}/linear_1/weight")
        T[f"{dst}.mlp.2.bias"] = g(f"{src}/linear_1/bias")
        ln(f"{src}/layer_norm", f"{dst}.mlp_ln")

    for i in range(n_enc):
        s, t = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        attn_self(f"{s}/self_attention", f"{t}.attn")
        ln(f"{s}/self_attention/layer_norm", f"{t}.attn_ln")
        mlp(f"{s}/ffn", t)
    ln("encoder/layer_norm", "encoder.ln_post")
    T["decoder.token_embedding.weight"] = g("decoder/embeddings/weight")
    T["decoder.positional_embedding"] = g("decoder/position_encodings/encodings")
    for i in range(n_dec):
        s, t = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        attn_self(f"{s}/self_attention", f"{t}.attn")
        ln(f"{s}/self_attention/layer_norm", f"{t}.attn_ln")
        c = f"{s}/attention"
        T[f"{t}.cross_attn.query.weight"] = g(f"{c}/linear_0/weight")
        T[f"{t}.cross_attn.query.bias"] = g(f"{c}/linear_0/bias")
        kw, vw = np.split(g(f"{c}/linear_1/weight"), 2)
        _kb, vb = np.split(g(f"{c}/linear_1/bias"), 2)
        T[f"{t}.cross_attn.key.weight"] = kw
        T[f"{t}.cross_attn.value.weight"] = vw
        T[f"{t}.cross_attn.value.bias"] = vb
        T[f"{t}.cross_attn.out.weight"] = g(f"{c}/linear_2/weight")
        T[f"{t}.cross_attn.out.bias"] = g(f"{c}/linear_2/bias")
        ln(f"{c}/layer_norm", f"{t}.cross_attn_ln")
        mlp(f"{s}/ffn", t)
    ln("decoder/layer_norm", "decoder.ln")

    with open(f"{ct2_dir}/tokenizer.json", encoding="utf-8") as f:
        tok = json.load(f)
    vocab = tok["model"]["vocab"]
    for added in tok.get("added_tokens", []):
        vocab.setdefault(added["content"], added["id"])
    n_tok = vocab["<|endoftext|>"]  # the plain tokens are exactly the ids below <|endoftext|>
    byte_dec = {v: k for k, v in bytes_to_unicode().items()}
    id2tok = {i: s for s, i in vocab.items()}
    filters = mel_filters(n_mels=n_mels)

    with open(out, "wb") as f:
        f.write(struct.pack("i", 0x67676D6C))
        for k in ["n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer",
                  "n_text_ctx", "n_text_state", "n_text_head", "n_text_layer", "n_mels"]:
            f.write(struct.pack("i", hp[k]))
        f.write(struct.pack("i", 1))  # ftype: f16
        f.write(struct.pack("ii", *filters.shape))
        filters.tofile(f)
        f.write(struct.pack("i", n_tok))
        for i in range(n_tok):
            b = bytes(byte_dec[c] for c in id2tok[i])
            f.write(struct.pack("i", len(b)))
            f.write(b)
        f32_names = ("encoder.conv1.bias", "encoder.conv2.bias", "encoder.positional_embedding",
                     "decoder.positional_embedding")
        for name, data in T.items():
            if name in ("encoder.conv1.bias", "encoder.conv2.bias"):
                data = data.reshape(data.shape[0], 1)
            nd = data.ndim
            if nd < 2 or name in f32_names:
                data, ftype = data.astype(np.float32), 0
            else:
                data, ftype = data.astype(np.float16), 1
            nb = name.encode()
            f.write(struct.pack("iii", nd, len(nb), ftype))
            for i in range(nd):
                f.write(struct.pack("i", data.shape[nd - 1 - i]))
            f.write(nb)
            data.tofile(f)
    print(f"wrote {out}: {len(T)} tensors, {n_tok} tokens, {hp}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: ct2_to_ggml.py CT2_DIR OUT.bin")
    convert(sys.argv[1], sys.argv[2])
