"""Fresh MySQL or MariaDB databases for integration tests.

PARLEY_TEST_DB_URL names a server and a base database, in parleyd's form
mysql://USER:PASSWORD@HOST:PORT/DATABASE or mysql://USER:PASSWORD@/DATABASE?socket=PATH.
create_database() makes an empty database named after the base one, and returns
the URL of it for parleyd. The user needs the privilege to create and drop such
databases, which the user of scripts/mariadb.sh has. The mariadb (or mysql)
command-line client does the work, with the password in MYSQL_PWD so that it
never shows on a command line.
"""

import os
import shutil
import subprocess
import urllib.parse
import uuid

CLIENT_TIMEOUT = 30.0


class DatabaseUrl:
    """The parts of a mysql:// URL."""

    def __init__(self, url):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "mysql":
            raise ValueError("PARLEY_TEST_DB_URL must start with mysql://, "
                             f"not {parts.scheme or 'nothing'}:")
        self.user = urllib.parse.unquote(parts.username or "")
        self.password = urllib.parse.unquote(parts.password or "")
        self.host = parts.hostname or ""
        self.port = parts.port or 3306
        self.database = urllib.parse.unquote(parts.path.lstrip("/"))
        self.socket = urllib.parse.parse_qs(parts.query).get("socket", [""])[0]
        if not self.database:
            raise ValueError("PARLEY_TEST_DB_URL has no database name")

    def with_database(self, database):
        """Return the URL of another database on the same server, for parleyd."""
        credentials = urllib.parse.quote(self.user, safe="")
        if self.password:
            credentials += ":" + urllib.parse.quote(self.password, safe="")
        if self.socket:
            socket = urllib.parse.quote(self.socket, safe="/")
            return f"mysql://{credentials}@/{database}?socket={socket}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"mysql://{credentials}@{host}:{self.port}/{database}"


def run_sql(url, sql):
    """Run SQL statements as the URL's user with the command-line client."""
    client = shutil.which("mariadb") or shutil.which("mysql")
    if client is None:
        raise RuntimeError("the mariadb command-line client is missing "
                           "(Debian package mariadb-client)")
    command = [client, "--no-defaults", "--batch", "--default-character-set=utf8mb4",
               f"--user={url.user}"]
    if url.socket:
        command.append(f"--socket={url.socket}")
    else:
        command += [f"--host={url.host}", f"--port={url.port}", "--protocol=TCP"]
    command += ["-e", sql]
    environment = dict(os.environ, MYSQL_PWD=url.password)
    result = subprocess.run(command, capture_output=True, text=True, env=environment,
                            timeout=CLIENT_TIMEOUT, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise RuntimeError(f"{sql!r} failed on {url.host or url.socket}: {result.stderr.strip()}")


def create_database(base_url):
    """Create an empty utf8mb4 database next to the base one and return its URL for parleyd."""
    url = DatabaseUrl(base_url)
    name = f"{url.database}_it_{uuid.uuid4().hex[:12]}"
    run_sql(url, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    return url.with_database(name)


def drop_database(database_url):
    """Drop the database that create_database made."""
    url = DatabaseUrl(database_url)
    run_sql(url, f"DROP DATABASE IF EXISTS `{url.database}`")
