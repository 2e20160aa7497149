"""A real IMAP server for tests: Debian's Dovecot with a throw-away configuration.

Everything lives in a temporary folder: the config file, a passwd-file with one user,
the maildir, the run and state directories, the log, and (for TLS) a self-signed
certificate. It listens on free loopback ports and runs in the foreground (``-F``) as
a child process, so the machine's own dovecot service (if any) does not matter. As
root (CI), the login and internal processes run as Debian's ``dovenull``/``dovecot``
users when they exist, mail as root; as anyone else, all of it as the current user.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aioimaplib

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER = "sekretariat"
PASSWORD = "hemmeligt-i-test"


def dovecot_missing() -> str | None:
    """Why Dovecot cannot run here, or None."""
    if not Path(DOVECOT).exists():
        return "Dovecot is not installed (apt-get install dovecot-imapd; .ci/run does)"
    if not Path("/usr/lib/dovecot/imap").exists():
        return "Dovecot's IMAP server is not installed (apt-get install dovecot-imapd)"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@dataclass
class Dovecot:
    """One Dovecot instance; use as ``with Dovecot(tmp_path) as server:``."""

    root: Path
    #: Advertise IDLE (Dovecot does by default); False strips it from the capabilities.
    idle: bool = True
    #: Advertise MOVE; False makes the reader fall back to COPY + STORE + EXPUNGE.
    move: bool = True
    tls: bool = False
    port: int = 0
    tls_port: int = 0
    user: str = USER
    password: str = PASSWORD
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _base_dir: Path = field(default=Path(), repr=False)

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def __enter__(self) -> Dovecot:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        # The sockets live in a short, traversable folder of their own: the login
        # processes (another user as root) must reach them, and a socket path is short.
        self._base_dir = Path(tempfile.mkdtemp(prefix="aarshjul-dovecot-"))
        self._base_dir.chmod(0o755)
        (self.root / "state").mkdir(exist_ok=True)
        owner = self._mail_user()
        for sub in ("mail", "home"):
            (self._base_dir / sub).mkdir()
            os.chown(self._base_dir / sub, owner.pw_uid, owner.pw_gid)
        (self.root / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}::::::\n")
        self.port = self.port or free_port()
        self.tls_port = free_port() if self.tls else 0
        if self.tls:
            self._make_certificate()
        conf = self.root / "dovecot.conf"
        conf.write_text(self._config())
        with (self.root / "stderr.log").open("wb") as stderr:
            self.process = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=stderr
            )
        self._wait_listening()

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None
        shutil.rmtree(self._base_dir, ignore_errors=True)

    def log(self) -> str:
        parts = []
        for name in ("dovecot.log", "stderr.log"):
            path = self.root / name
            if path.exists():
                parts.append(path.read_text(errors="replace"))
        return "\n".join(parts)

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited ({self.process.returncode}):\n{self.log()}")
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), 1):
                return
            time.sleep(0.05)
        raise RuntimeError(f"dovecot did not listen on {self.port}:\n{self.log()}")

    def _mail_user(self) -> pwd.struct_passwd:
        """Who owns the maildir: the current user, or as root (Dovecot refuses uid 0
        for mail) Debian's ``dovecot`` user, else ``nobody``."""
        if os.getuid() != 0:
            return pwd.getpwuid(os.getuid())
        return pwd.getpwnam("dovecot" if _user_exists("dovecot") else "nobody")

    def _config(self) -> str:
        me = pwd.getpwuid(os.getuid())
        mail = self._mail_user()
        uid, gid = mail.pw_uid, mail.pw_gid
        internal = login = me.pw_name
        if os.getuid() == 0:
            # Dovecot's login processes refuse to run as root: they run as Debian's
            # dovenull (or nobody); everything else, which reads the files, as root.
            login = "dovenull" if _user_exists("dovenull") else "nobody"
        capability = ""
        if not self.idle or not self.move:
            # The full list Dovecot 2.3 sends after login, less what this test server lacks.
            names = [
                "IMAP4rev1", "SASL-IR", "LOGIN-REFERRALS", "ID", "ENABLE", "LITERAL+",
                "UIDPLUS", "SORT", "THREAD=REFERENCES", "NAMESPACE", "UNSELECT", "CHILDREN",
                "ESEARCH", "SEARCHRES", "SPECIAL-USE", "STATUS=SIZE", "SAVEDATE", "BINARY",
            ]  # fmt: skip
            if self.idle:
                names.append("IDLE")
            if self.move:
                names.append("MOVE")
            capability = f"imap_capability = {' '.join(names)}\n"
        tls = "ssl = no\n"
        listener_tls = "  inet_listener imaps {\n    port = 0\n  }\n"
        if self.tls:
            tls = (
                "ssl = yes\n"
                f"ssl_cert = <{self.root / 'cert.pem'}\n"
                f"ssl_key = <{self.root / 'key.pem'}\n"
            )
            listener_tls = (
                "  inet_listener imaps {\n"
                f"    address = 127.0.0.1\n    port = {self.tls_port}\n    ssl = yes\n  }}\n"
            )
        return f"""# Throw-away Dovecot for aarshjul's tests; nothing outside {self.root}.
protocols = imap
listen = 127.0.0.1
base_dir = {self._base_dir}
state_dir = {self.root / "state"}
instance_name = aarshjul-test-{self.port}
log_path = {self.root / "dovecot.log"}
default_internal_user = {internal}
default_internal_group = {grp.getgrgid(pwd.getpwnam(internal).pw_gid).gr_name}
default_login_user = {login}
first_valid_uid = 1
first_valid_gid = 1
disable_plaintext_auth = no
auth_mechanisms = plain login
{tls}{capability}mail_location = maildir:{self._base_dir / "mail"}/%u
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root / "passwd"}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={self._base_dir / "home"}/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
{listener_tls}}}
service anvil {{
  chroot =
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
"""

    def _make_certificate(self) -> None:
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                "-keyout", str(self.root / "key.pem"), "-out", str(self.root / "cert.pem"),
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip

    def client_ssl_context(self) -> ssl.SSLContext:
        """A context that trusts this server's self-signed certificate."""
        context = ssl.create_default_context(cafile=str(self.root / "cert.pem"))
        return context

    # -- helpers for tests -------------------------------------------------------------

    async def connect(self) -> aioimaplib.IMAP4:
        client = aioimaplib.IMAP4(host=self.host, port=self.port, timeout=20)
        await client.wait_hello_from_server()
        response = await client.login(self.user, self.password)
        assert response.result == "OK", response
        return client

    async def append(self, message: bytes, folder: str = "INBOX") -> None:
        """Put ``message`` into ``folder`` with IMAP APPEND, as a mail server would."""
        client = await self.connect()
        try:
            response = await client.append(message, mailbox=folder)
            assert response.result == "OK", response
        finally:
            await client.logout()

    async def folders(self) -> list[str]:
        """The folder names, as LIST gives them."""
        client = await self.connect()
        try:
            response = await client.list('""', "*")
        finally:
            await client.logout()
        names = []
        for line in response.lines:
            text = bytes(line).decode("utf-8", "replace")
            if text.startswith("(") and '"' in text:
                names.append(text.rsplit(" ", 1)[-1].strip('"'))
        return names

    async def count(self, folder: str) -> int:
        """How many messages ``folder`` holds (0 when it does not exist)."""
        client = await self.connect()
        try:
            response = await client.status(folder, "(MESSAGES)")
        finally:
            await client.logout()
        if response.result != "OK":
            return 0
        for line in response.lines:
            text = bytes(line).decode("utf-8", "replace")
            if "MESSAGES" in text:
                return int(text.split("MESSAGES", 1)[1].strip(" ()"))
        return 0

    async def messages(self, folder: str) -> list[bytes]:
        """The raw messages in ``folder``, in UID order."""
        client = await self.connect()
        try:
            selected = await client.select(folder)
            if selected.result != "OK":
                return []
            response = await client.fetch("1:*", "(BODY.PEEK[])")
        finally:
            await client.logout()
        return [bytes(line) for line in response.lines if isinstance(line, bytearray)]
