"""YAML from users and files is parsed within bounds: size, values, nesting, no anchors or aliases."""

from __future__ import annotations

import asyncio
import re
import time
import tracemalloc

import pytest

import bot.yamlfile
from bot.alerts.i18n import t
from bot.cli import main as cli_main
from bot.commands.handlers import Caller, Commands
from bot.commands.resolve import Resolver
from bot.commands.transfer import IMPORT_LIMITS, import_subscriptions
from bot.config import ConfigError, load_settings
from bot.extract.matcher import Matcher
from bot.rules.load import load_rules
from bot.yamlfile import RULES_LIMITS, YAMLLimits, parse_yaml, read_yaml_file
from tests.conftest import RULES

MB = 1024 * 1024


def laughs(width: int = 10, levels: int = 7) -> str:
    """A "billion laughs" rules file: each level an anchored list of ``width`` aliases of the level below.

    Expanded it is width**levels strings (10**7 here, under 450 bytes); ruamel's loader took 17 s and 200 MB
    for this one, and gigabytes for the 9**9 the tester sent.
    """
    lines = ["version: 1", f"l0: &a0 [{', '.join(['lol'] * width)}]"]
    lines += [f"l{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels)]
    lines += ["entities:", "  - id: bomb", "    type: topic", "    names: {en: Bomb}",
              f"    aliases: {{en: *a{levels - 1}}}"]
    return "\n".join(lines) + "\n"


BOMB = laughs()


def peak_mb(fn):
    """(fn(), peak bytes allocated while it ran, in MB)."""
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1] / MB
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_rules(RULES))


# ---------------------------------------------------------------- alias bombs, size, values, depth

def test_alias_bomb_rules_file_is_refused_with_its_line_in_bounded_memory(write_rules):
    rules_dir = write_rules({"bomb.yaml": BOMB, "ok.yaml": "entities:\n  - {id: ok, type: topic, names: {en: Ok}}\n"})
    rules, peak = peak_mb(lambda: load_rules(rules_dir))
    assert peak < 50, f"{peak:.0f} MB"
    assert len(rules.errors) == 1
    assert rules.errors[0].endswith("bomb.yaml:2: YAML anchors and aliases (&a0, *a0) are not accepted: "
                                    "write each value out in full")
    assert "ok" in rules.entities  # the other files still load


def test_alias_bomb_import_is_refused_in_bounded_memory(matcher):
    imported, peak = peak_mb(lambda: import_subscriptions(BOMB.encode(), "bomb.yaml", matcher))
    assert peak < 50, f"{peak:.0f} MB"
    assert imported.errors == ["bomb.yaml:2: YAML anchors and aliases (&a0, *a0) are not accepted: "
                               "write each value out in full"]
    assert not (imported.watchlists or imported.entities or imported.phrases)


def test_a_lone_alias_or_anchor_is_refused_too():
    assert parse_yaml("a: &x 1\n")[1] == (1, t("en", "yaml.anchor", name="x"))
    # a merge key is an alias too
    assert parse_yaml("base: {x: 1}\nother:\n  <<: *base\n")[1] == (3, t("en", "yaml.anchor", name="base"))


def test_oversized_file_is_refused_without_being_read_or_parsed(tmp_path, monkeypatch):
    big = tmp_path / "rules" / "big.yaml"
    big.parent.mkdir()
    with open(big, "wb") as f:
        f.truncate(200 * MB)  # sparse: 200 MB long, nothing on disk

    def never(*args, **kwargs):
        raise AssertionError("an oversized document was parsed")

    monkeypatch.setattr(bot.yamlfile, "_build", never)
    rules, peak = peak_mb(lambda: load_rules(big.parent))
    assert peak < RULES_LIMITS.max_bytes / MB + 10, f"{peak:.0f} MB"  # at most the cap (+1 byte) is read
    assert rules.errors[0].endswith(f"big.yaml:1: file too large: {200 * MB} bytes (at most {RULES_LIMITS.max_bytes} "
                                    "bytes)")
    too_big = "x" * (IMPORT_LIMITS.max_bytes + 1)
    assert parse_yaml(too_big, IMPORT_LIMITS)[1] == (
        1, t("en", "yaml.too_large", size=IMPORT_LIMITS.max_bytes + 1, max=IMPORT_LIMITS.max_bytes))


def test_too_many_values_is_refused_at_the_first_one_over():
    limits = YAMLLimits(max_nodes=100)
    text = "items:\n" + "".join(f"  - {i}\n" for i in range(200))
    # the mapping, its key and the list are 3 values: item 98, on line 99, is the 101st
    assert parse_yaml(text, limits)[1] == (99, "too many YAML values (more than 100)")
    assert parse_yaml("items:\n" + "".join(f"  - {i}\n" for i in range(97)), limits)[1] is None


def test_deep_nesting_is_refused_flow_and_block():
    flow = "a: " + "[" * 100 + "]" * 100 + "\n"
    assert parse_yaml(flow)[1] == (1, f"YAML nested too deeply (more than {RULES_LIMITS.max_depth} levels)")
    block = "".join(f"{'  ' * i}k{i}:\n" for i in range(40)) + f"{'  ' * 40}leaf: 1\n"
    # the mapping under k31, on line 33, is the 33rd level
    assert parse_yaml(block)[1] == (RULES_LIMITS.max_depth + 1,
                                    t("en", "yaml.too_deep", max=RULES_LIMITS.max_depth))
    deep_ok = "a: " + "[" * 20 + "1" + "]" * 20 + "\n"
    assert parse_yaml(deep_ok)[1] is None


def test_other_refusals_carry_their_line():
    assert parse_yaml("a: 1\n---\nb: 2\n")[1] == (2, "invalid YAML: expected a single document, found another one")
    assert parse_yaml("a: 1\nb: !!python/object:os.system x\n")[1] == (
        2, "invalid YAML: unsupported tag tag:yaml.org,2002:python/object:os.system")
    assert parse_yaml("id: x\nnames: {}\nid: y\n")[1] == (3, "invalid YAML: duplicate key 'id' (first on line 1)")
    assert parse_yaml("? [a, b]\n: 1\n")[1] == (1, "invalid YAML: a mapping key must be a plain value")
    assert parse_yaml("a: [unclosed\n")[1][1].startswith("invalid YAML: ")
    assert parse_yaml(b"a: \xff\n")[1] == (1, "the file is not UTF-8 text")


# ---------------------------------------------------------------- same data as before

def test_yaml_1_2_scalars_as_ruamel_read_them():
    doc, problem = parse_yaml("version: 1\nwords: [no, yes, on, off, NO, y, 'true']\n"
                              "typed: [true, False, ~, null, '', 0x1f, 0o17, 012, 1_000, 1.5, 1e3, .inf, 2254]\n"
                              "tagged: [!!str 5, !!int '7', !!float 2, !!bool 'true']\nempty:\n")
    assert problem is None
    assert doc["version"] == 1 and type(doc["version"]) is int
    assert doc["words"] == ["no", "yes", "on", "off", "NO", "y", "true"]
    assert doc["typed"] == [True, False, None, None, "", 31, 15, 12, 1000, 1.5, 1000.0, float("inf"), 2254]
    assert doc["tagged"] == ["5", 7, 2.0, True] and doc["empty"] is None
    assert parse_yaml("a: !!int x\n")[1] == (1, "invalid YAML: 'x' is not a valid int")


def test_lines_of_keys_and_items():
    doc, _ = parse_yaml("top:\n  - id: a\n    any: [x,\n      y]\n  - plain\n")
    seq = doc["top"]
    assert doc.lines["top"] == 1 and seq.lines == [2, 5] and seq[0].lines == {"id": 2, "any": 3}
    assert seq[0]["any"].lines == [3, 4]


def test_shipped_rules_load_with_every_source_line():
    rules = load_rules(RULES)
    assert rules.errors == [] and len(rules.entities) >= 500 and len(rules.watchlists) >= 20
    item = re.compile(r"^ *- \{?id: ", re.M)
    listed = sum(len(item.findall(p.read_text(encoding="utf-8"))) for p in rules.files)
    assert listed == len(rules.entities) + len(rules.watchlists)
    for item in [*rules.entities.values(), *rules.watchlists.values()]:
        file, line = item.source.rsplit(":", 1)
        assert f"id: {item.id}" in (RULES.parent / file).read_text(encoding="utf-8").splitlines()[int(line) - 1]


# ---------------------------------------------------------------- /import in the chat's language, off the loop

@pytest.fixture
async def commands(tmp_path, matcher):
    from bot.store import Store

    store = Store(f"sqlite+aiosqlite:///{tmp_path}/bounds.db")
    await store.migrate()
    resolver = Resolver(matcher)
    yield Commands(store, lambda: (matcher, resolver))
    await store.close()


@pytest.mark.parametrize(("language", "header", "refusal"), [
    ("en", "The file was not imported:", "YAML anchors and aliases (&a0, *a0) are not accepted"),
    ("ar", "لم يستورد الملف:", "لا تقبل مراسي YAML وإحالاتها (&a0 و*a0)"),
])
async def test_import_of_a_bomb_is_refused_in_the_chat_language(commands, language, header, refusal):
    caller = Caller("telegram", f"bomb-{language}", user_language=language)
    reply = await commands.import_file(caller, BOMB.encode(), "bomb.yaml", "")
    lines = reply.text.splitlines()
    assert reply.language == language and lines[0] == header
    assert lines[1].startswith(f"bomb.yaml:2: {refusal}")
    deep = ("watchlists:\n  - id: x\n    names: " + "{a: " * 20 + "1" + "}" * 20 + "\n").encode()
    reply = await commands.import_file(caller, deep, "deep.yaml", "")
    assert reply.text.splitlines()[1] == "deep.yaml:3: " + t(language, "yaml.too_deep", max=IMPORT_LIMITS.max_depth)


async def test_a_slow_import_does_not_hold_other_chats(commands, monkeypatch):
    def slow_parse(*args):
        time.sleep(0.5)  # a parse that takes long: it must run in a thread, not on the event loop
        return import_subscriptions(*args)

    monkeypatch.setattr("bot.commands.handlers.import_subscriptions", slow_parse)
    await commands.chat_for(Caller("telegram", "other"))
    answered: list[float] = []

    async def other_chat():
        await asyncio.sleep(0.05)
        await commands.dispatch(Caller("telegram", "other"), "help", "")
        answered.append(time.monotonic())

    start = time.monotonic()
    reply, _ = await asyncio.gather(commands.import_file(Caller("telegram", "importer"), BOMB.encode(), "b.yaml", ""),
                                    other_chat())
    assert "bomb" not in reply.text and "b.yaml:2:" in reply.text
    assert answered and answered[0] - start < 0.4  # answered while the import was still being parsed


# ---------------------------------------------------------------- config.yaml

def test_config_bomb_and_size_are_refused_with_lines(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("feeds:\n  - &f {name: A, url: a.xml}\n" + "  - *f\n" * 5)
    with pytest.raises(ConfigError) as info:
        load_settings(config, env={})
    assert len(info.value.messages) == 1
    assert info.value.messages[0].endswith("config.yaml:2: " + t("en", "yaml.anchor", name="f"))
    config.write_text("# " + "x" * (2 * MB) + "\n")
    with pytest.raises(ConfigError) as info:
        load_settings(config, env={})
    assert "config.yaml:1: file too large" in info.value.messages[0]


def test_check_warns_about_intervals_outside_the_poll_bounds(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(f"rules: {RULES}\nfeeds:\n  - name: Fast\n    url: a.xml\n    interval: 20\n"
                      "  - name: Normal\n    url: b.xml\n    interval: 300\n"
                      "  - {name: Slow, url: c.xml, interval: 86400}\npoll:\n  min_interval: 30\n")
    assert cli_main(["check", "--config", str(config)]) == 0  # warnings do not fail the check
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert any(line.endswith("config.yaml:5: warning: feeds.0.interval (feed 'Fast'): 20 s is below "
                             "poll.min_interval (30 s), so it is polled every 30 s") for line in lines)
    assert any(line.endswith("config.yaml:9: warning: feeds.2.interval (feed 'Slow'): 86400 s is above "
                             "poll.max_interval (21600 s), so it is polled every 21600 s") for line in lines)
    assert not any("Normal" in line for line in lines) and "2 warning(s)" in out.err


def test_read_yaml_file_reads_within_the_cap(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("a: 1\n")
    assert read_yaml_file(path, YAMLLimits(max_bytes=5)) == ({"a": 1}, None)
    assert read_yaml_file(path, YAMLLimits(max_bytes=4))[1] == (1, "file too large: 5 bytes (at most 4 bytes)")
    assert read_yaml_file(path, YAMLLimits(max_bytes=4), "ar")[1] == (
        1, t("ar", "yaml.too_large", size=5, max=4))
