"""Encryption at rest: the envelope, hostile headers, and encrypted files through the CLI."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import cli
from cli import EXIT_INVALID, EXIT_OK, main
from placement import crypto
from placement.check import check_plan
from placement.crypto import (
    MAGIC,
    NO_PASSPHRASE,
    PASSPHRASE_ENV,
    WRONG_KEY,
    EncryptionError,
    ScryptCost,
    decrypt,
    encrypt,
    is_encrypted,
)
from placement.errors import InputError
from placement.plan import load_plan, verify_digest
from placement.scenario import load_scenario

PASSPHRASE = "correct horse battery staple"

# Long, distinctive names: a test that they never appear in encrypted output must not be
# fooled by a two-byte id turning up in random ciphertext.
IDS = ("DEFECTOR-ALBATROSS", "DEFECTOR-BARRACUDA", "DEFECTOR-CORMORANT", "NETWORK-NORTHSTAR")
SCENARIO = """\
format: placement-scenario/1
name: Encrypted test
capacity:
  default: {housing_units: 2, services: [exit_program]}
networks:
  - {id: NETWORK-NORTHSTAR, territory: [Göteborg], rivals: [NETWORK-SOUTHWIND]}
  - {id: NETWORK-SOUTHWIND, territory: [Malmö]}
defectors:
  - {id: DEFECTOR-ALBATROSS, networks: [NETWORK-NORTHSTAR], origin: Göteborg, threat_level: 5}
  - {id: DEFECTOR-BARRACUDA, networks: [NETWORK-SOUTHWIND], origin: Malmö, threat_level: 4}
  - {id: DEFECTOR-CORMORANT, networks: [NETWORK-SOUTHWIND], origin: Malmö, placed_in: Luleå}
"""
FAST = ScryptCost(n=2**4, r=1, p=1)
"""For tests that decrypt hundreds of times; only the tag and the header checks matter there."""


@pytest.fixture(autouse=True)
def _cheap_kdf_and_no_passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    # The default cost (128 MiB, ~0.4 s) is pinned by test_default_cost_is_memory_hard.
    monkeypatch.setattr(crypto, "scrypt_cost", ScryptCost(n=2**10, r=8, p=1))
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)


@pytest.fixture
def with_passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


@pytest.fixture
def sealed(tmp_path: Path) -> Path:
    path = tmp_path / "scenario.yaml.enc"
    path.write_bytes(encrypt(SCENARIO.encode("utf-8"), PASSPHRASE))
    return path


def _env() -> dict[str, str]:
    return {PASSPHRASE_ENV: PASSPHRASE}


def _assert_no_plaintext(blob: bytes) -> None:
    assert is_encrypted(blob)
    for word in (*IDS, "Göteborg", "Luleå", "assignments", "defector", "placement-plan"):
        assert word.encode("utf-8") not in blob, word


# --------------------------------------------------------------------------- the envelope


def test_round_trip_and_fresh_salt_and_nonce_every_time() -> None:
    data = SCENARIO.encode("utf-8")
    first, second = encrypt(data, PASSPHRASE), encrypt(data, PASSPHRASE)
    assert first.startswith(MAGIC) and is_encrypted(first)
    assert first != second  # new salt and nonce: equal files do not look equal
    assert decrypt(first, PASSPHRASE) == decrypt(second, PASSPHRASE) == data
    _assert_no_plaintext(first)
    assert not is_encrypted(data)


def test_header_records_the_cipher_and_the_kdf_parameters() -> None:
    blob = encrypt(b"x", PASSPHRASE, cost=ScryptCost(n=2**11, r=8, p=1))
    header = json.loads(blob[len(MAGIC) : blob.index(b"\n", len(MAGIC))])
    assert header["cipher"] == "AES-256-GCM"
    assert {k: header["kdf"][k] for k in ("name", "n", "r", "p")} == {
        "name": "scrypt",
        "n": 2**11,
        "r": 8,
        "p": 1,
    }
    assert len(base64.b64decode(header["kdf"]["salt"])) == 16
    assert len(base64.b64decode(header["nonce"])) == 12


def test_default_cost_is_memory_hard() -> None:
    default = ScryptCost()
    assert default.n >= 2**15 and default.r == 8 and default.p == 1
    assert 128 * default.n * default.r >= 64 * 2**20  # at least 64 MiB per guess
    assert 128 * default.n * default.r <= crypto.MAX_SCRYPT_MEMORY  # and readable by us


def test_wrong_passphrase_is_refused_with_a_clear_message() -> None:
    blob = encrypt(b"secret", PASSPHRASE)
    with pytest.raises(EncryptionError) as caught:
        decrypt(blob, "Correct horse battery staple", source="plan.json")
    assert str(caught.value) == f"plan.json: 1 problem\n  {WRONG_KEY}"
    assert isinstance(caught.value, InputError)


def test_empty_passphrase_is_refused_when_encrypting() -> None:
    with pytest.raises(EncryptionError, match="the passphrase is empty"):
        encrypt(b"secret", "")


@pytest.mark.parametrize("mask", [0x01, 0x80])
def test_every_single_byte_change_in_header_and_body_is_refused(mask: int) -> None:
    blob = encrypt(b'{"assignments": []}\n', PASSPHRASE, cost=FAST)
    for position in range(len(blob)):
        altered = bytearray(blob)
        altered[position] ^= mask
        with pytest.raises(EncryptionError) as caught:
            decrypt(bytes(altered), PASSPHRASE)
        reason = caught.value.reason
        assert reason == WRONG_KEY or "header" in reason, (position, reason)


def test_every_truncation_and_an_appended_byte_are_refused() -> None:
    blob = encrypt(b"0123456789" * 5, PASSPHRASE, cost=FAST)
    for length in range(len(blob)):
        with pytest.raises(EncryptionError):
            decrypt(blob[:length], PASSPHRASE)
    with pytest.raises(EncryptionError, match="wrong passphrase or the file was altered"):
        decrypt(blob + b"\0", PASSPHRASE)


def _with_header(header: object, body: bytes = b"\0" * 32) -> bytes:
    return MAGIC + json.dumps(header).encode() + b"\n" + body


def _header(**changes: object) -> dict[str, Any]:
    """A valid header (cheap scrypt cost) with some values changed."""
    kdf: dict[str, Any] = {
        "name": "scrypt",
        "n": 2**10,
        "r": 8,
        "p": 1,
        "salt": base64.b64encode(b"s" * 16).decode(),
    }
    header: dict[str, Any] = {
        "cipher": "AES-256-GCM",
        "kdf": kdf,
        "nonce": base64.b64encode(b"n" * 12).decode(),
    }
    for key, value in changes.items():
        (kdf if key in kdf else header)[key] = value
    return header


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"n": 2**30}, "demand 1,048,576 MiB; the limit is 256 MiB"),
        ({"n": 2**200}, "the limit is 256 MiB"),
        ({"n": 2**20, "r": 64}, "the limit is 256 MiB"),
        ({"n": 1000}, "power of two"),
        ({"n": 1}, "power of two"),
        ({"n": True}, "must be integers"),
        ({"n": 1024.0}, "must be integers"),
        ({"r": 0}, "scrypt r must be 1 to 64"),
        ({"p": 1000}, "p 1 to 4"),
        ({"name": "pbkdf2"}, "unknown key derivation 'pbkdf2'"),
        ({"cipher": "ROT13"}, "unknown cipher 'ROT13'"),
        ({"salt": "not base64!"}, "salt must be 16 to 64 bytes"),
        ({"salt": base64.b64encode(b"s" * 8).decode()}, "salt must be 16 to 64 bytes"),
        ({"nonce": base64.b64encode(b"n" * 16).decode()}, "nonce must be 12 bytes"),
        ({"extra": 1}, "expected keys cipher, kdf, nonce"),
    ],
)
def test_hostile_headers_are_refused_before_any_work(
    changes: dict[str, object], message: str
) -> None:
    started = time.monotonic()
    with pytest.raises(EncryptionError) as caught:
        decrypt(_with_header(_header(**changes)), PASSPHRASE, source="evil.yaml")
    assert time.monotonic() - started < 1.0
    assert "encrypted file header is not usable" in caught.value.reason
    assert message in caught.value.reason


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (MAGIC, "header is truncated or garbled"),
        (MAGIC + b"{" * 5000 + b"\n", "header is truncated or garbled"),  # over 1 KiB
        (MAGIC + b"[" * 1000 + b"\n", "header is garbled"),
        (MAGIC + b"\xff\xfe\n", "header is garbled"),
        (MAGIC + b"[1, 2]\n", "expected keys cipher, kdf, nonce"),
        (b"PLACEMENT-ENCRYPTED/2\n{}\n", "not an encrypted placement file"),
    ],
)
def test_garbled_headers_are_refused(blob: bytes, message: str) -> None:
    with pytest.raises(EncryptionError) as caught:
        decrypt(blob, PASSPHRASE)
    assert message in caught.value.reason


def test_a_header_with_a_valid_cost_but_no_body_is_truncated() -> None:
    with pytest.raises(EncryptionError, match="encrypted file is truncated"):
        decrypt(_with_header(_header(), body=b"\0" * 15), PASSPHRASE)


# --------------------------------------------------------------------------- the library


def test_library_reads_encrypted_scenarios_and_hashes_the_stored_bytes(
    plain: Path, sealed: Path, with_passphrase: None
) -> None:
    clear, secret = load_scenario(plain), load_scenario(sealed)
    assert [d.id for d in secret.defectors] == [d.id for d in clear.defectors]
    assert secret.sha256 == hashlib.sha256(sealed.read_bytes()).hexdigest()
    assert secret.sha256 != clear.sha256


def test_library_without_a_passphrase_says_how_to_give_one(sealed: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_scenario(sealed)
    assert str(caught.value) == f"{sealed}: 1 problem\n  {NO_PASSPHRASE}"
    assert NO_PASSPHRASE == "file is encrypted; set PLACEMENT_PASSPHRASE or run interactively"


def test_library_refuses_a_wrongly_keyed_scenario(
    sealed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "not it")
    with pytest.raises(InputError, match="cannot decrypt: wrong passphrase or the file was"):
        load_scenario(sealed)


def test_a_garbled_header_is_reported_before_asking_for_a_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(MAGIC + b"garbage")
    with pytest.raises(InputError, match="header is truncated or garbled"):
        load_scenario(path)


def test_the_library_asks_its_passphrase_source(
    sealed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[bool] = []

    def source(*, confirm: bool) -> str | None:
        asked.append(confirm)
        return PASSPHRASE

    monkeypatch.setattr(crypto, "passphrase_source", source)
    assert load_scenario(sealed).name == "Encrypted test"
    assert asked == [False]


# --------------------------------------------------------------------------- the CLI


def test_encrypted_scenario_solves_and_the_plan_is_encrypted_and_checks(
    runner: CliRunner, sealed: Path
) -> None:
    out = sealed.parent / "plan.json"
    result = runner.invoke(main, ["solve", str(sealed), "-o", str(out)], env=_env())
    assert result.exit_code == EXIT_OK, result.output
    assert f"Plan written to {out} (encrypted)" in result.stdout
    stored = out.read_bytes()
    _assert_no_plaintext(stored)
    assert sorted(p.name for p in sealed.parent.iterdir()) == ["plan.json", "scenario.yaml.enc"]
    document = json.loads(decrypt(stored, PASSPHRASE))
    assert document["scenario"]["sha256"] == hashlib.sha256(sealed.read_bytes()).hexdigest()
    checked = runner.invoke(main, ["check", str(sealed), str(out)], env=_env())
    assert checked.exit_code == EXIT_OK, checked.output
    assert "Warnings" not in checked.stdout  # same scenario file, digest intact
    assert "DEFECTOR-ALBATROSS" not in checked.stdout  # nobody was unplaced or violated
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PASSPHRASE_ENV, PASSPHRASE)
        plan = load_plan(out)
        assert check_plan(load_scenario(sealed), plan).ok
        assert verify_digest(plan) is None


def test_no_encrypt_writes_plain_text_even_from_an_encrypted_scenario(
    runner: CliRunner, sealed: Path
) -> None:
    out = sealed.parent / "plan.json"
    args = ["solve", str(sealed), "-o", str(out), "-q", "--no-encrypt"]
    result = runner.invoke(main, args, env=_env())
    assert result.exit_code == EXIT_OK, result.output
    assert json.loads(out.read_text(encoding="utf-8"))["format"] == "placement-plan/1"
    checked = runner.invoke(main, ["check", str(sealed), str(out)], env=_env())
    assert checked.exit_code == EXIT_OK


def test_encrypt_flag_encrypts_a_plan_from_a_plain_scenario(runner: CliRunner, plain: Path) -> None:
    out = plain.parent / "plan.json"
    result = runner.invoke(main, ["solve", str(plain), "-o", str(out), "--encrypt"], env=_env())
    assert result.exit_code == EXIT_OK, result.output
    _assert_no_plaintext(out.read_bytes())
    checked = runner.invoke(main, ["check", str(plain), str(out)], env=_env())
    assert checked.exit_code == EXIT_OK, checked.output
    solve_help = runner.invoke(main, ["solve", "--help"]).stdout
    assert "--no-encrypt" in solve_help and "encrypted when SCENARIO is encrypted" in solve_help


def test_missing_passphrase_is_exit_2_with_the_message_and_no_file(
    runner: CliRunner, sealed: Path, plain: Path
) -> None:
    out = sealed.parent / "plan.json"
    result = runner.invoke(main, ["solve", str(sealed), "-o", str(out)])
    assert result.exit_code == EXIT_INVALID
    assert result.stderr == f"Error: {sealed}: 1 problem\n  {NO_PASSPHRASE}\n"
    started = time.monotonic()
    result = runner.invoke(main, ["solve", str(plain), "-o", str(out), "--encrypt"])
    assert result.exit_code == EXIT_INVALID
    assert "no passphrase to encrypt with; set PLACEMENT_PASSPHRASE" in result.stderr
    assert time.monotonic() - started < 5  # refused before solving
    assert not out.exists()
    for command in (["validate", str(sealed)], ["check", str(plain), str(sealed)]):
        result = runner.invoke(main, command)
        assert result.exit_code == EXIT_INVALID
        assert NO_PASSPHRASE in result.stderr and "Traceback" not in result.output


def test_wrong_passphrase_and_tampered_plan_are_exit_2(runner: CliRunner, sealed: Path) -> None:
    wrong = runner.invoke(main, ["validate", str(sealed)], env={PASSPHRASE_ENV: "nope"})
    assert wrong.exit_code == EXIT_INVALID
    assert wrong.stderr == f"Error: {sealed}: 1 problem\n  {WRONG_KEY}\n"
    out = sealed.parent / "plan.json"
    runner.invoke(main, ["solve", str(sealed), "-o", str(out), "-q"], env=_env())
    stored = bytearray(out.read_bytes())
    stored[-20] ^= 0x04
    out.write_bytes(bytes(stored))
    tampered = runner.invoke(main, ["check", str(sealed), str(out)], env=_env())
    assert tampered.exit_code == EXIT_INVALID
    assert tampered.stderr == f"Error: {out}: 1 problem\n  {WRONG_KEY}\n"


def test_encrypt_and_decrypt_commands_round_trip(runner: CliRunner, plain: Path) -> None:
    sealed, back = plain.parent / "s.enc", plain.parent / "back.yaml"
    result = runner.invoke(main, ["encrypt", str(plain), "-o", str(sealed)], env=_env())
    assert result.exit_code == EXIT_OK, result.output
    assert result.stdout == f"Encrypted {plain} to {sealed}.\n"
    assert "still in plain text" in result.stderr
    _assert_no_plaintext(sealed.read_bytes())
    assert (sealed.stat().st_mode & 0o077) == 0  # readable by its owner only
    result = runner.invoke(main, ["decrypt", str(sealed), "-o", str(back)], env=_env())
    assert result.exit_code == EXIT_OK, result.output
    assert back.read_bytes() == plain.read_bytes()
    assert sorted(p.name for p in plain.parent.iterdir()) == ["back.yaml", "s.enc", "scenario.yaml"]


def test_encrypt_in_place_and_refusals(runner: CliRunner, plain: Path) -> None:
    original = plain.read_bytes()
    result = runner.invoke(main, ["encrypt", str(plain), "-o", str(plain)], env=_env())
    assert result.exit_code == EXIT_OK and "still in plain text" not in result.stderr
    assert decrypt(plain.read_bytes(), PASSPHRASE) == original
    again = runner.invoke(main, ["encrypt", str(plain), "-o", str(plain)], env=_env())
    assert again.exit_code == EXIT_INVALID
    assert again.stderr == f"Error: {plain}: 1 problem\n  already encrypted\n"
    clear = plain.parent / "clear.yaml"
    clear.write_bytes(original)
    result = runner.invoke(main, ["decrypt", str(clear), "-o", str(plain)], env=_env())
    assert result.exit_code == EXIT_INVALID and "not encrypted" in result.stderr
    missing = runner.invoke(main, ["encrypt", str(clear), "-o", str(clear)])  # no passphrase
    assert missing.exit_code == EXIT_INVALID and "no passphrase to encrypt with" in missing.stderr
    assert clear.read_bytes() == original
    nowhere = runner.invoke(
        main, ["encrypt", str(clear), "-o", str(plain.parent / "no" / "x")], env=_env()
    )
    assert nowhere.exit_code == EXIT_INVALID and "does not exist" in nowhere.stderr
    wrong = runner.invoke(
        main, ["decrypt", str(plain), "-o", str(clear)], env={PASSPHRASE_ENV: "x"}
    )
    assert wrong.exit_code == EXIT_INVALID and WRONG_KEY in wrong.stderr
    assert clear.read_bytes() == original  # nothing written on a refusal


def test_interactive_prompt_asks_twice_to_encrypt_once_to_read_and_is_reused(
    runner: CliRunner, plain: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "_interactive", lambda: True)
    sealed = plain.parent / "s.enc"
    typed = f"{PASSPHRASE}\n{PASSPHRASE}\n"
    result = runner.invoke(main, ["encrypt", str(plain), "-o", str(sealed)], input=typed)
    assert result.exit_code == EXIT_OK, result.output
    assert "Repeat for confirmation" in result.stderr
    assert PASSPHRASE not in result.output  # hidden input
    assert decrypt(sealed.read_bytes(), PASSPHRASE) == plain.read_bytes()
    # Reading the scenario asks once; the encrypted plan reuses that passphrase.
    out = plain.parent / "plan.json"
    result = runner.invoke(
        main, ["solve", str(sealed), "-o", str(out), "-q"], input=f"{PASSPHRASE}\n"
    )
    assert result.exit_code == EXIT_OK, result.output
    assert result.stderr.count("Passphrase for encrypted files") == 1
    assert json.loads(decrypt(out.read_bytes(), PASSPHRASE))["status"] == "optimal"
    # check reads two encrypted files with one prompt.
    result = runner.invoke(main, ["check", str(sealed), str(out)], input=f"{PASSPHRASE}\n")
    assert result.exit_code == EXIT_OK, result.output
    assert result.stderr.count("Passphrase for encrypted files") == 1


def test_the_cli_restores_the_library_passphrase_source(runner: CliRunner, plain: Path) -> None:
    before = crypto.passphrase_source
    runner.invoke(main, ["validate", str(plain)])
    assert crypto.passphrase_source is before
