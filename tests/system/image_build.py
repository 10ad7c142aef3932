#!/usr/bin/env python3
"""Builds a small container image from local files, offline, in two forms:
an OCI image layout directory and a docker-archive tar (as `docker save`
writes it), with the same config bytes, hence the same image ID.

  image_build.py OUT [--busybox PATH] [--compress gzip|zstd|none] [--filler MIB]

OUT/oci       OCI image layout (layers compressed as --compress says)
OUT/docker.tar docker-archive (uncompressed layer tars, RepoTags test/image:1)
OUT/id         the image ID (sha256 of the config)

Layer 1: busybox with applet symlinks in /bin, /etc/passwd and /etc/group
with a user `app` (1000:1000, group `app`, member of `extra` 1001), /tmp,
/home/app (owned by app), /etc/doomed (whited out by layer 2), /opaque/{a,b}
(hidden by layer 2's opaque marker), a hard link /bin/hardlink.
Layer 2: .wh.doomed, /etc/added, /opaque/.wh..wh..opq + /opaque/c.
--filler N: a third layer of N MiB, half random bytes, half compressible
text, in files of 1 MiB (for bench/image_bench.sh).
"""
import argparse, gzip, hashlib, io, json, os, shutil, subprocess, sys, tarfile

MTIME = 1700000000
APPLETS = ["sh", "ls", "cat", "echo", "id", "pwd", "env", "touch", "true", "false", "test", "mkdir", "rm", "stat",
           "sleep", "wc", "head"]


def add_dir(tar, name, mode=0o755, uid=0, gid=0):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid, info.mtime = tarfile.DIRTYPE, mode, uid, gid, MTIME
    tar.addfile(info)


def add_file(tar, name, data, mode=0o644, uid=0, gid=0):
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.uid, info.gid, info.mtime = len(data), mode, uid, gid, MTIME
    tar.addfile(info, io.BytesIO(data))


def add_link(tar, name, target, hard=False):
    info = tarfile.TarInfo(name)
    info.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
    info.linkname, info.mode, info.mtime = target, 0o777, MTIME
    tar.addfile(info)


def tar_bytes(build):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        build(tar)
    return buf.getvalue()


def layer1(busybox):
    def build(tar):
        for d in ["bin", "etc", "home", "opaque", "var", "var/tmp", "run"]:
            add_dir(tar, d)
        add_dir(tar, "tmp", 0o1777)
        add_dir(tar, "home/app", 0o755, 1000, 1000)
        with open(busybox, "rb") as f:
            add_file(tar, "bin/busybox", f.read(), 0o755)
        for applet in APPLETS:
            add_link(tar, "bin/" + applet, "busybox")
        add_link(tar, "bin/hardlink", "bin/busybox", hard=True)
        add_file(tar, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n")
        add_file(tar, "etc/group", b"root:x:0:\napp:x:1000:\nextra:x:1001:app\n")
        add_file(tar, "etc/doomed", b"whited out by layer 2\n")
        add_file(tar, "opaque/a", b"a\n")
        add_file(tar, "opaque/b", b"b\n")
    return tar_bytes(build)


def layer2():
    def build(tar):
        add_dir(tar, "etc")
        add_file(tar, "etc/.wh.doomed", b"")
        add_file(tar, "etc/added", b"added by layer 2\n")
        add_dir(tar, "opaque")
        add_file(tar, "opaque/.wh..wh..opq", b"")
        add_file(tar, "opaque/c", b"c\n")
    return tar_bytes(build)


def filler(mib):
    rnd = open("/dev/urandom", "rb")
    def build(tar):
        add_dir(tar, "filler")
        for i in range(mib):
            data = rnd.read(1 << 20) if i % 2 == 0 else (b"lightvm image filler line %08d\n" % i) * 34952
            add_file(tar, "filler/f%04d" % i, data[: 1 << 20])
    return tar_bytes(build)


def compress(data, how):
    if how == "gzip":
        return gzip.compress(data, compresslevel=6, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip"
    if how == "zstd":
        out = subprocess.run(["zstd", "-q", "-c", "-3"], input=data, stdout=subprocess.PIPE, check=True).stdout
        return out, "application/vnd.oci.image.layer.v1.tar+zstd"
    return data, "application/vnd.oci.image.layer.v1.tar"


def sha(data):
    return hashlib.sha256(data).hexdigest()


def write_blob(oci, data):
    path = os.path.join(oci, "blobs", "sha256", sha(data))
    with open(path, "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + sha(data), "size": len(data)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--busybox", default="/bin/busybox")
    ap.add_argument("--compress", default="gzip", choices=["gzip", "zstd", "none"])
    ap.add_argument("--filler", type=int, default=0)
    a = ap.parse_args()
    layers = [layer1(a.busybox), layer2()] + ([filler(a.filler)] if a.filler else [])
    config = {
        "created": "2023-11-14T22:13:20Z", "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/bin/sh", "-c", "echo default cmd in $PWD as $(id -u)"],
                   "Env": ["PATH=/usr/bin:/bin", "GREETING=hello from the image", "SHADOWED=image"],
                   "WorkingDir": "/home/app", "User": "app"},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha(l) for l in layers]},
        "history": [{"created": "2023-11-14T22:13:20Z", "created_by": "image_build.py"}],
    }
    config_bytes = json.dumps(config, sort_keys=True).encode()
    os.makedirs(a.out, exist_ok=True)
    # OCI image layout.
    oci = os.path.join(a.out, "oci")
    shutil.rmtree(oci, ignore_errors=True)
    os.makedirs(os.path.join(oci, "blobs", "sha256"))
    descs = []
    for l in layers:
        data, media = compress(l, a.compress)
        descs.append(dict(mediaType=media, **write_blob(oci, data)))
    cfg = dict(mediaType="application/vnd.oci.image.config.v1+json", **write_blob(oci, config_bytes))
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": cfg, "layers": descs}
    man = write_blob(oci, json.dumps(manifest).encode())
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [dict(mediaType="application/vnd.oci.image.manifest.v1+json",
                                annotations={"org.opencontainers.image.ref.name": "test/image:1"}, **man)]}
    with open(os.path.join(oci, "index.json"), "w") as f:
        json.dump(index, f)
    with open(os.path.join(oci, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    # docker-archive, as docker save (before 25) writes it.
    def build_docker(tar):
        add_file(tar, sha(config_bytes) + ".json", config_bytes)
        paths = []
        for i, l in enumerate(layers):
            d = "%064x" % (i + 1)
            add_dir(tar, d)
            add_file(tar, d + "/layer.tar", l)
            paths.append(d + "/layer.tar")
        entry = [{"Config": sha(config_bytes) + ".json", "RepoTags": ["test/image:1"], "Layers": paths}]
        add_file(tar, "manifest.json", json.dumps(entry).encode())
    with open(os.path.join(a.out, "docker.tar"), "wb") as f:
        f.write(tar_bytes(build_docker))
    with open(os.path.join(a.out, "id"), "w") as f:
        f.write(sha(config_bytes) + "\n")


if __name__ == "__main__":
    sys.exit(main())
