"""Test certificates made at run time with the openssl CLI: a test CA, a good server
certificate for 127.0.0.1, one for another host name, a self-signed one and an expired one."""

import os
import shutil
import subprocess

_CACHE = {}


def _openssl(*args, cwd):
    subprocess.run(
        ["openssl"] + list(args),
        cwd=cwd,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _leaf(d, name, san, ca=True, expired=False):
    key, crt = name + ".key", name + ".pem"
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write(
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
            "extendedKeyUsage=serverAuth\nsubjectAltName=%s\n" % san
        )
    if not ca:
        _openssl(
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            key,
            "-out",
            crt,
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=" + san,
            cwd=d,
        )
        return os.path.join(d, crt), os.path.join(d, key)
    _openssl(
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        key,
        "-out",
        name + ".csr",
        "-subj",
        "/CN=" + name,
        cwd=d,
    )
    if expired:
        # `openssl ca` is the one 3.0 command that takes explicit start and end dates.
        os.makedirs(os.path.join(d, "db"), exist_ok=True)
        open(os.path.join(d, "db", "index.txt"), "w").close()
        with open(os.path.join(d, "ca.cnf"), "w") as f:
            f.write(
                "[ca]\ndefault_ca=kit\n[kit]\ndir=db\ndatabase=db/index.txt\nnew_certs_dir=db\n"
                "serial=db/serial\ndefault_md=sha256\npolicy=any\ncopy_extensions=none\n"
                "unique_subject=no\n[any]\ncommonName=supplied\n"
            )
        with open(os.path.join(d, "db", "serial"), "w") as f:
            f.write("1000\n")
        _openssl(
            "ca",
            "-batch",
            "-config",
            "ca.cnf",
            "-cert",
            "ca.pem",
            "-keyfile",
            "ca.key",
            "-in",
            name + ".csr",
            "-out",
            crt,
            "-startdate",
            "20200101000000Z",
            "-enddate",
            "20200201000000Z",
            "-extfile",
            name + ".ext",
            "-notext",
            cwd=d,
        )
    else:
        _openssl(
            "x509",
            "-req",
            "-in",
            name + ".csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            crt,
            "-days",
            "2",
            "-extfile",
            name + ".ext",
            cwd=d,
        )
    return os.path.join(d, crt), os.path.join(d, key)


def make_certificates(d):
    """{'ca': path, 'good'|'wrong_host'|'self_signed'|'expired': (cert, key)} or {'error': …}."""
    if d in _CACHE:
        return _CACHE[d]
    if not shutil.which("openssl"):
        return {"error": "the openssl command is not installed"}
    os.makedirs(d, exist_ok=True)
    try:
        _openssl(
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=2BA conformance kit test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            cwd=d,
        )
        out = {
            "ca": os.path.join(d, "ca.pem"),
            "good": _leaf(d, "good", "IP:127.0.0.1"),
            "wrong_host": _leaf(d, "wrong_host", "DNS:wrong-host.invalid"),
            "self_signed": _leaf(d, "self_signed", "IP:127.0.0.1", ca=False),
            "expired": _leaf(d, "expired", "IP:127.0.0.1", expired=True),
        }
    except subprocess.CalledProcessError as e:
        out = {"error": "openssl failed: %s" % e.stderr.decode(errors="replace")[-300:]}
    _CACHE[d] = out
    return out
