"""The review page's renderers, run in Chromium on the page itself: Markdown
becomes only safe nodes whatever the source holds, runs read as conversations and
folded JSON, and a schema's fields get the controls the rubric promises."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

from tests.browser.servers import LiveApp

HOSTILE = [
    "<script>window.hit = 1</script>",
    '<img src=x onerror="window.hit = 2">',
    "[a](javascript:window.hit=3)",
    "[a](JaVaScRiPt:window.hit=4)",
    "[a](data:text/html,<script>window.hit=5</script>)",
    "[a](vbscript:msgbox)",
    "[a](//evil.example/x)",
    "![tracker](https://evil.example/pixel.png)",
    '**<b onclick="window.hit=6">bold</b>**',
    "`<code onmouseover=x>`",
    '> <iframe src="https://evil.example"></iframe>',
    "- <svg onload=window.hit=7>",
    "```\n</code></pre><script>window.hit=8</script>\n```",
    "[ok](https://example.org/a?b=<c>) and <https://example.org/d> and [m](mailto:x@example.org)",
]

# Walk what renderMarkdown made: every element's tag and attributes.
RENDER = """async (sources) => {
  const { renderMarkdown } = await import("/dashboard/assets/markdown.js");
  return sources.map((source) => {
    const box = document.createElement("div");
    box.appendChild(renderMarkdown(source));
    document.body.appendChild(box);
    const elements = [...box.querySelectorAll("*")].map((e) => ({
      tag: e.tagName.toLowerCase(),
      attrs: Object.fromEntries([...e.attributes].map((a) => [a.name, a.value])),
    }));
    const out = { text: box.textContent, elements };
    box.remove();
    return out;
  });
}"""
SAFE_TAGS = {
    "p", "br", "strong", "em", "del", "code", "pre", "a",
    "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "hr",
}  # fmt: skip
SAFE_ATTRIBUTES = {"a": {"href", "rel", "target"}, "ol": {"start"}, "code": {"data-language"}}


def render(page: Page, sources: list[str]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = page.evaluate(RENDER, sources)
    return result


def blank(page: Page, live: LiveApp) -> Page:
    page.goto(f"{live.url}/dashboard/review")
    page.get_by_test_id("access-form").wait_for()
    return page


def test_markdown_builds_only_safe_nodes(live: LiveApp, page: Page) -> None:
    rendered = render(blank(page, live), HOSTILE)
    for source, out in zip(HOSTILE, rendered, strict=True):
        for element in out["elements"]:
            assert element["tag"] in SAFE_TAGS, (source, element)
            assert set(element["attrs"]) <= SAFE_ATTRIBUTES.get(element["tag"], set()), (
                source,
                element,
            )
            if element["tag"] == "a":
                assert element["attrs"]["href"].startswith(("https://", "mailto:"))
                assert element["attrs"]["rel"] == "noopener noreferrer nofollow"
    # What was refused is still there to read, as text.
    texts = [out["text"] for out in rendered]
    assert texts[0] == "<script>window.hit = 1</script>"
    assert texts[2] == "[a](javascript:window.hit=3)"
    assert "</code></pre><script>window.hit=8</script>" in texts[12]
    links = [e["attrs"]["href"] for e in rendered[13]["elements"] if e["tag"] == "a"]
    assert links == [
        "https://example.org/a?b=%3Cc%3E",
        "https://example.org/d",
        "mailto:x@example.org",
    ]
    assert rendered[7]["elements"] == [
        {"tag": "p", "attrs": {}},
        {
            "tag": "a",
            "attrs": {
                "href": "https://evil.example/pixel.png",
                "rel": "noopener noreferrer nofollow",
                "target": "_blank",
            },
        },
    ]  # an image is a link to it, never loaded
    assert page.evaluate("window.hit") is None


def test_markdown_reads_the_usual_syntax(live: LiveApp, page: Page) -> None:
    source = (
        "# Title\n\nOne *two* **three** ~~four~~ `five`\nsix\n\n"
        "3. c\n4. d\n\n- x\n  continued\n- y\n\n> quoted **bold**\n\n---\n\n"
        "```python\nprint('hi')\n```\n\n    indented code\n\nsnake_case_word stays"
    )
    [out] = render(blank(page, live), [source])
    tags = [e["tag"] for e in out["elements"]]
    assert tags == [
        "h3",
        "p", "em", "strong", "del", "code", "br",
        "ol", "li", "li",
        "ul", "li", "br", "li",
        "blockquote", "p", "strong",
        "hr",
        "pre", "code",
        "pre", "code",
        "p",
    ]  # fmt: skip
    ol = next(e for e in out["elements"] if e["tag"] == "ol")
    assert ol["attrs"] == {"start": "3"}
    assert {"tag": "code", "attrs": {"data-language": "python"}} in out["elements"]
    assert "snake_case_word stays" in out["text"]


def test_runs_read_as_conversations_text_and_folded_json(live: LiveApp, page: Page) -> None:
    blank(page, live)
    shapes = page.evaluate(
        """async () => {
          const { renderValue } = await import("/dashboard/assets/run_view.js");
          const cases = [
            [
              {role: "user", content: "hi"},
              {role: "assistant", content: [{type: "text", text: "**hello**"}]},
            ],
            {messages: [{type: "human", content: "q"}, {type: "ai", content: "a"}], temperature: 0},
            "plain *markdown*",
            {question: "why?", context: {docs: Array.from({length: 50}, (_, i) => "doc " + i)}},
            Array.from({length: 300}, (_, i) => ({i})),
            null,
          ];
          return cases.map((value) => {
            const node = renderValue(value);
            return {
              roles: [...node.querySelectorAll(".message")].map((m) => m.dataset.role),
              strong: [...node.querySelectorAll("strong, em")].map((s) => s.textContent),
              labels: [...node.querySelectorAll(".part-label")].map((l) => l.textContent),
              folded: [...node.querySelectorAll("details.json-node")].map((d) => d.open),
              text: node.textContent.slice(0, 60),
            };
          });
        }"""
    )
    chat, wrapped, text, mixed, long_list, empty = shapes
    assert chat["roles"] == ["user", "assistant"]
    assert chat["strong"] == ["hello"]
    assert wrapped["roles"] == ["user", "assistant"]
    assert wrapped["labels"] == ["messages", "temperature"]
    assert text["strong"] == ["markdown"]
    assert mixed["labels"] == ["question", "context"]
    assert mixed["folded"][0] is True  # the small object {docs} is open ...
    assert mixed["folded"][1] is False  # ... its long list starts folded
    assert long_list["folded"][0] is False
    assert empty["text"] == "Nothing recorded."


def test_schema_fields_get_their_controls(live: LiveApp, page: Page) -> None:
    blank(page, live)
    kinds = page.evaluate(
        """async () => {
          const { fieldKind, fieldOfPath } = await import("/dashboard/assets/rubric.js");
          const schema = {$defs: {level: {type: "integer", minimum: 0, maximum: 10}}};
          const props = {
            scale: {type: "integer", minimum: 1, maximum: 5},
            wide: {type: "integer", minimum: 0, maximum: 100},
            exclusive: {type: ["integer", "null"], exclusiveMinimum: 0, exclusiveMaximum: 4},
            ref: {$ref: "#/$defs/level"},
            number: {type: "number", minimum: 0, maximum: 1},
            flag: {type: "boolean"},
            pick: {enum: ["a", "b", null]},
            labelled: {oneOf: [{const: 1, title: "Bad"}, {const: 2, title: "Good"}]},
            short: {type: "string", maxLength: 40},
            long: {type: "string"},
            many: {type: "array", items: {enum: ["x", "y"]}},
            object: {type: "object"},
          };
          const kinds = Object.fromEntries(Object.entries(props).map(([name, prop]) => {
            const k = fieldKind(schema, prop);
            return [name, [k.kind, (k.options || []).map((o) => o.label), Boolean(k.long)]];
          }));
          const names = ["Coherence", "odd name", "a.b", "a"];
          const paths = ["$.Coherence", "$['odd name']", "$['a.b']", "$.a.b", "$.a", "$", "$.nope"]
            .map((p) => fieldOfPath(p, names));
          return { kinds, paths };
        }"""
    )
    assert kinds["kinds"] == {
        "scale": ["scale", ["1", "2", "3", "4", "5"], False],
        "wide": ["number", [], False],
        "exclusive": ["scale", ["1", "2", "3"], False],
        "ref": ["scale", [str(v) for v in range(11)], False],
        "number": ["number", [], False],
        "flag": ["choice", ["Yes", "No"], False],
        "pick": ["choice", ["a", "b"], False],
        "labelled": ["choice", ["Bad", "Good"], False],
        "short": ["text", [], False],
        "long": ["text", [], True],
        "many": ["multi", ["x", "y"], False],
        "object": ["json", [], False],
    }
    # "$.a.b": the longest name wins (the server names a missing "a.b" so).
    assert kinds["paths"] == ["Coherence", "odd name", "a.b", "a.b", "a", None, None]
