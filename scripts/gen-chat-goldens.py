#!/usr/bin/env python3
"""Render the golden conversations for test/format/chat-template.test.ts with Python jinja2.

The reference is the Step 3.5 Flash template under jinja2 set up the way HF transformers sets up chat
templates (transformers' `_compile_jinja_template`): an ImmutableSandboxedEnvironment with trim_blocks and
lstrip_blocks, the loopcontrols extension, `tojson` replaced by json.dumps with ensure_ascii=False (the
template's own keyword arguments honoured), and a `raise_exception` global. Like vLLM and SGLang, tool-call
arguments given as a JSON string are parsed with json.loads before rendering; the golden file keeps the
messages as given, so the TypeScript side has to do the same.

Usage: python3 scripts/gen-chat-goldens.py   (writes test/fixtures/chat/goldens.json)
"""
import copy
import json
import os
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEMPLATE = os.path.join(ROOT, "test", "fixtures", "chat", "StepFun3.5-Flash.jinja")
OUT = os.path.join(ROOT, "test", "fixtures", "chat", "goldens.json")
BOS = "<｜begin▁of▁sentence｜>"


def compile_template(source):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.now().strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env.from_string(source)


def parse_string_arguments(messages):
    messages = copy.deepcopy(messages)
    for m in messages:
        for call in m.get("tool_calls") or []:
            fn = call.get("function", call)
            if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
                fn["arguments"] = json.loads(fn["arguments"])
    return messages


# ---------------------------------------------------------------------------------------------- tools
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city. Température en °C, 天气预报 — ünïcödé ✓",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Zürich or 東京"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 14},
            },
            "required": ["city"],
        },
    },
}
SHELL = {
    "type": "function",
    "function": {
        "name": "run_shell",
        "description": "Run a shell command in the sandbox.\nReturns stdout and stderr.",
        "parameters": {
            "type": "object",
            "properties": {
                "command": {"type": "string", "description": "e.g. grep -r \"<tool_call>\" src\\"},
                "timeout": {"type": "number", "default": 30.0, "minimum": 0.5, "maximum": 1e-05},
            },
            "required": ["command"],
        },
    },
}
WRITE_FILE = {
    "type": "function",
    "function": {
        "name": "write_file",
        "description": 'Write "content" to a file; the path may use \\ or /.',
        "parameters": {
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "content": {"type": "string"},
                "overwrite": {"type": "boolean", "default": False},
            },
            "required": ["path", "content"],
        },
    },
}
# Keys out of the usual order, a `strict` flag, nested schemas and a nullable union: printed as given.
SEARCH = {
    "function": {
        "parameters": {
            "properties": {
                "query": {"type": "string"},
                "filters": {
                    "type": "object",
                    "properties": {"lang": {"type": "string"}, "year": {"type": ["integer", "null"]}},
                },
                "tags": {"type": "array", "items": {"type": "string"}},
                "limit": {"type": "integer", "default": None},
                "threshold": {"type": "number", "default": 0.75},
            },
            "type": "object",
            "additionalProperties": False,
        },
        "name": "search",
        "description": "Search the knowledge base (Wissensdatenbank, база знаний).",
        "strict": True,
    },
    "type": "function",
}
GET_TIME = {"type": "function", "function": {"name": "get_time"}}


def call(name, arguments, id=None):
    c = {"type": "function", "function": {"name": name, "arguments": arguments}}
    if id is not None:
        c["id"] = id
    return c


U = lambda text: {"role": "user", "content": text}
A = lambda text, **kw: {"role": "assistant", "content": text, **kw}
S = lambda text, **kw: {"role": "system", "content": text, **kw}
T = lambda text, **kw: {"role": "tool", "content": text, **kw}

CASES = []


def case(name, messages, tools=None, add_generation_prompt=True, bos_token=None):
    CASES.append(dict(name=name, messages=messages, tools=tools, add_generation_prompt=add_generation_prompt, bos_token=bos_token))


# ------------------------------------------------------------------------------------- plain chat
case("plain_user", [U("Hello! How are you?")])
case("plain_user_bos", [U("Hello!")], bos_token=BOS)
case("plain_user_no_generation_prompt", [U("Hello!")], add_generation_prompt=False)
case("system_user", [S("You are a concise assistant."), U("What is 2+2?")], bos_token=BOS)
case(
    "multi_turn_plain",
    [S("You are helpful."), U("Hi"), A("Hello! How can I help?"), U("Tell me a joke."), A("Why did the chicken cross the road?"), U("Why?")],
)
case("multi_turn_no_generation_prompt", [U("Hi"), A("Hello!")], add_generation_prompt=False, bos_token=BOS)
case("empty_strings", [S(""), U(""), A("")])
case("special_tokens_in_text", [U("Literal <|im_start|>user and <|im_end|> and <think> in text"), A("Echo: <|im_end|>")])
case("system_content_none", [S(None), U("Hi")])
case("empty_tools_list", [S("sys"), U("Hi")], tools=[])

# ---------------------------------------------------------------------------------------- reasoning
case(
    "reasoning_several_turns",
    [
        S("You are an agent."),
        U("What's the weather in Paris?"),
        A(None, reasoning_content="First turn reasoning: call the tool.", tool_calls=[call("get_weather", {"city": "Paris"})]),
        T("18°C, cloudy"),
        A("It is 18°C and cloudy in Paris.", reasoning_content="Summarise the tool output."),
        U("And in Tokyo, in fahrenheit?"),
        A(None, reasoning_content="Second query: call the tool again.", tool_calls=[call("get_weather", {"city": "Tokyo", "unit": "fahrenheit"})]),
        T("75°F, sunny"),
        A("It is 75°F and sunny in Tokyo.", reasoning_content="Kept: after the last user query.\nTwo lines."),
    ],
    tools=[WEATHER],
    add_generation_prompt=False,
)
case(
    "reasoning_in_content",
    [
        U("First question"),
        A("<think>\nold reasoning\n</think>\n\nold answer"),
        U("Second question"),
        A("<think>\n\nnew reasoning\n\n</think>\n\nnew answer"),
    ],
    add_generation_prompt=False,
)
case("reasoning_in_content_without_open_tag", [U("Q"), A("just reasoning\n</think>\nthe answer")], add_generation_prompt=False)
case("reasoning_multiple_think_close", [U("Q"), A("r1\n</think>\nmiddle\n</think>\n\nfinal")], add_generation_prompt=False)
case(
    "reasoning_content_wins_over_content",
    [U("Q"), A("content keeps </think> verbatim", reasoning_content="explicit reasoning"), U("Next"), A("plain", reasoning_content="dropped")],
)
case("reasoning_content_none_splits_content", [U("Q"), A("r\n</think>\nanswer", reasoning_content=None)])
case("reasoning_empty_after_query", [U("Q"), A("answer without reasoning")], add_generation_prompt=False)
case(
    "tool_response_user_is_not_a_query",
    [
        U("Real question"),
        A(None, reasoning_content="call it", tool_calls=[call("get_time", {})]),
        U("<tool_response>12:00</tool_response>"),
        A("It is noon.", reasoning_content="kept because the previous user turn is a tool response"),
    ],
    tools=[GET_TIME],
)
case("no_real_user_query", [S("sys"), A("hello", reasoning_content="never shown"), U("<tool_response>x</tool_response>"), A("bye", reasoning_content="not shown either")])

# ------------------------------------------------------------------------------------------- tools
case("tools_with_system", [S("You are a weather bot."), U("Weather in Zürich?")], tools=[WEATHER, SHELL], bos_token=BOS)
case("tools_without_system", [U("List files")], tools=[SHELL])
case("tools_key_order_unicode_strict", [S("Use tools."), U("Find papers from 2024")], tools=[SEARCH, WRITE_FILE, GET_TIME])
case(
    "single_tool_call",
    [U("Weather in Berlin?"), A(None, reasoning_content="Need the tool.", tool_calls=[call("get_weather", {"city": "Berlin", "unit": "celsius", "days": 3}, id="call_1")]), T("12°C", tool_call_id="call_1")],
    tools=[WEATHER],
)
case(
    "parallel_tool_calls_merged_results",
    [
        U("Compare Berlin, Paris and Rome."),
        A(
            "Let me check all three.",
            reasoning_content="Three calls in parallel.",
            tool_calls=[call("get_weather", {"city": "Berlin"}), call("get_weather", {"city": "Paris"}), call("get_weather", {"city": "Rome"})],
        ),
        T("12°C"),
        T("18°C"),
        T("24°C"),
    ],
    tools=[WEATHER],
)
case(
    "tool_results_not_merged_across_turns",
    [
        U("Go"),
        A(None, tool_calls=[call("get_time", {})]),
        T("first"),
        A(None, tool_calls=[call("get_time", {})]),
        T("second"),
        A("done"),
    ],
    tools=[GET_TIME],
    add_generation_prompt=False,
)
case("tool_message_first", [T("orphan result"), T("second orphan"), U("Q")])
case(
    "arguments_as_json_string",
    [
        U("Search"),
        A(
            None,
            tool_calls=[
                call("search", '{"query": "step 3.5 flash", "limit": 5, "threshold": 1.0, "filters": {"lang": "en", "year": null}, "tags": ["moe", "mtp"]}'),
                call("run_shell", '{"command": "ls -la", "timeout": 1e-05}'),
            ],
        ),
        T("ok"),
    ],
    tools=[SEARCH, SHELL],
)
case(
    "argument_value_types",
    [
        U("Types"),
        A(
            None,
            tool_calls=[
                call(
                    "probe",
                    {
                        "s": "text",
                        "i": 42,
                        "neg": -7,
                        "big": 10**21,
                        "f": 2.5,
                        "f_integral": 1.0,
                        "f_small": 1e-05,
                        "f_large": 1e16,
                        "f_neg_zero": -0.0,
                        "f_mid": 123456789.125,
                        "t": True,
                        "b": False,
                        "n": None,
                        "obj": {"a": 1, "b": [1.5, None, True, {}], "ü": "é"},
                        "arr": [1, "two", 3.0, [], {}],
                        "empty_obj": {},
                        "empty_arr": [],
                        "empty_str": "",
                    },
                )
            ],
        ),
    ],
    add_generation_prompt=False,
)
case(
    "argument_strings_with_xml_backslashes_newlines",
    [
        U("Write the file"),
        A(
            None,
            tool_calls=[
                call(
                    "write_file",
                    {
                        "path": "C:\\Users\\me\\notes.xml",
                        "content": '<root>\n  <tool_call>not a call</tool_call>\n  <parameter=x>\n</root>\n\tTabbed "quoted" \\n literal\n',
                        "overwrite": True,
                    },
                ),
                call("run_shell", {"command": "printf '%s\\n' \"<function=x>\" | grep -c '</function>'\n"}),
            ],
        ),
        T("written"),
        T("1"),
    ],
    tools=[WRITE_FILE, SHELL],
)
case(
    "tool_call_shapes",
    [
        U("Shapes"),
        A(
            None,
            tool_calls=[
                {"name": "get_time", "arguments": {"tz": "UTC"}},
                {"type": "function", "function": {"name": "get_time"}},
                call("get_time", {}),
            ],
        ),
    ],
    tools=[GET_TIME],
)

# ------------------------------------------------------------------------- content parts and roles
case(
    "content_parts",
    [
        {"role": "system", "content": [{"type": "text", "text": "System "}, {"type": "text", "text": "in parts."}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look at this: "},
                {"type": "image"},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                {"type": "text", "value": "(value wins)", "text": "ignored"},
            ],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "I see "}, {"type": "text", "text": "an image."}]},
        {"role": "user", "content": [{"type": "text", "text": "Thanks"}]},
    ],
)
case("content_parts_tool_and_reasoning", [U("Q"), {"role": "assistant", "content": [{"type": "text", "text": "r\n</think>\n"}, {"type": "text", "text": "answer"}]}, {"role": "tool", "content": [{"type": "text", "text": "part result"}]}])
case(
    "observation_and_names",
    [
        S("main system"),
        {"role": "user", "content": "Hi", "name": "alice"},
        A("Hello"),
        S("Tool output: 42", name="observation"),
        S("A later system note", name="admin"),
        S("Another late system"),
        U("Continue"),
    ],
)
case("observation_with_tools", [S("sys"), U("Q"), S("observed", name="observation")], tools=[GET_TIME], bos_token=BOS)

# ------------------------------------------------------------------------------------- error cases
case("error_empty_messages", [])
case("error_tool_call_without_name", [U("Q"), A(None, tool_calls=[{"type": "function", "function": {"arguments": {}}}])])
case("error_arguments_not_an_object", [U("Q"), A(None, tool_calls=[call("f", "[1, 2]")])])
case("error_arguments_null", [U("Q"), A(None, tool_calls=[call("f", None)])])


def main():
    with open(TEMPLATE, encoding="utf-8") as f:
        template = compile_template(f.read())
    goldens = []
    for c in CASES:
        kwargs = dict(messages=parse_string_arguments(c["messages"]), tools=c["tools"], add_generation_prompt=c["add_generation_prompt"])
        if c["bos_token"] is not None:
            kwargs["bos_token"] = c["bos_token"]
        entry = dict(c)
        try:
            entry["rendered"] = template.render(**kwargs)
        except Exception as e:  # the template's failures are goldens too: the renderer must throw
            if not c["name"].startswith("error_"):
                raise
            entry["error"] = f"{type(e).__name__}: {e}"
        else:
            if c["name"].startswith("error_"):
                raise SystemExit(f"{c['name']}: expected the template to fail")
        goldens.append(entry)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(goldens, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(goldens)} goldens to {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
