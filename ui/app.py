"""The Gradio chat: ask in French or English, watch the tools work, see the evidence on a map.

``build_ui(hooks, options)`` only lays out components and wires them to the handlers in :mod:`geovigie.ui.chat`
and :mod:`geovigie.ui.data_panel`; rendering is in :mod:`geovigie.ui.render` (pure), maps in :mod:`geovigie.ui.map`.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from geovigie.ui.chat import ChatController
from geovigie.ui.data_panel import DataController
from geovigie.ui.examples import EXAMPLES_JS
from geovigie.ui.guidance import guidance_markdown
from geovigie.ui.hooks import ChatHooks, UiOptions
from geovigie.ui.render import CATALOG_HEADERS

EXAMPLES = [
    "Flood extent near Almoradí (Vega Baja, Spain) in September 2019?",
    "Combien de nouveaux bâtiments à Nantes depuis 2015 ?",
    "How much did Bordeaux grow between 2016 and 2017?",
    "Déforestation autour de Pucallpa entre 1985 et 2020 ?",
    "How many ships are in P0706.png?",
    "Compte les arbres dans OSBS_029.tif",
    "What imagery do you have of Paris?",
    "Occupation du sol autour de 45.87 N, 14.56 E en septembre 2015 ?",
]
"""Questions people can click: one per kind of analysis, in both languages."""

CSS = """
#map-panel iframe {display: block;}
#examples button {font-size: 0.9em;}
footer {display: none !important;}
#queue:empty, #guidance:empty {display: none;}
#queue {font-size: 0.9em; color: #555;}
#guidance {border-left: 3px solid #0072b2; padding-left: 10px;}
/* Full download names: wrap instead of truncating (the name is also the link's title on hover). */
#downloads td.filename, #downloads td.filename span {white-space: normal !important; overflow: visible !important;
  text-overflow: clip !important; word-break: break-all; max-width: none !important;}
@media (max-width: 700px) {
  #chat {height: 52vh !important; min-height: 280px;}
  #map-panel iframe {height: 340px !important;}
}
"""

SCROLL_TO_TURN_JS = """() => {
  // Put the latest question (and the answer under it) at the top of the chat, never the footnotes.
  const run = () => {
    const users = document.querySelectorAll('#chat [data-testid="user"]');
    const last = users[users.length - 1];
    if (!last) return;
    let box = last.parentElement;
    while (box && box !== document.body) {
      const style = getComputedStyle(box);
      if (/(auto|scroll)/.test(style.overflowY) && box.scrollHeight > box.clientHeight) break;
      box = box.parentElement;
    }
    if (box && box !== document.body) {
      // 40 px: clear of the chat's toolbar (share, clear, copy), which floats over the top of the list.
      box.scrollTop += last.getBoundingClientRect().top - box.getBoundingClientRect().top - 40;
    }
  };
  requestAnimationFrame(() => requestAnimationFrame(run));
}"""
"""Runs in the browser after each turn (the chat does not autoscroll to the bottom)."""
TITLE_DOWNLOADS_JS = """() => {
  // Full file names on hover (the table may still shorten long names on narrow screens).
  document.querySelectorAll('#downloads td.filename').forEach(td => { td.title = td.getAttribute('aria-label'); });
  document.querySelectorAll('#downloads a[download]').forEach(a => { a.title = a.getAttribute('download'); });
}"""

INTRO = (
    "## GeoVigie\n"
    "Ask about a place and a risk, in French or English. Each number is measured on satellite imagery and "
    "traced to its scenes and dates."
)


def build_ui(hooks: ChatHooks, options: UiOptions) -> gr.Blocks:
    """Build the chat app (mount it with ``allowed_paths=options.served_paths()`` and ``css=CSS``).

    Args:
        hooks: Callables into the turn service (looked up lazily, so the service may start later).
        options: Work folder, artifacts folder and basemap settings.
    """
    chat = ChatController(hooks, options)
    data = DataController(hooks, options)
    empty_map, _ = chat.map_view([])
    with gr.Blocks(title="GeoVigie", analytics_enabled=False) as demo:
        gr.Markdown(INTRO)
        history = gr.State([])
        thread = gr.State(None)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat-tab"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(
                            elem_id="chat",
                            height=520,
                            label="Conversation",
                            autoscroll=False,  # the chat scrolls to each new turn itself (SCROLL_TO_TURN_JS)
                            placeholder="Ask about a place and a risk, or click an example below.",
                        )
                        with gr.Row():
                            # No autofocus: on a phone it would open the page scrolled down to the keyboard.
                            question = gr.Textbox(
                                elem_id="chat-input",
                                placeholder="Ask about a place… / Posez une question sur un lieu…",
                                show_label=False,
                                scale=5,
                                max_lines=4,
                            )
                            send = gr.Button("Ask", variant="primary", scale=1, elem_id="send", min_width=60)
                            stop = gr.Button("Stop", variant="stop", scale=0, elem_id="stop", min_width=60)
                        queue = gr.Markdown(elem_id="queue")
                        examples = gr.Dataset(
                            components=[question],
                            samples=[[q] for q in EXAMPLES],
                            label="Examples (click to ask)",
                            elem_id="examples",
                            samples_per_page=len(EXAMPLES),
                        )
                    with gr.Column(scale=2):
                        with gr.Row():
                            threads = gr.Dropdown(label="Recent conversations", choices=[], elem_id="threads", scale=3)
                            new = gr.Button("New conversation", scale=1, elem_id="new-thread")
                        guidance = gr.Markdown(elem_id="guidance")  # first run: where imagery comes from
                        map_html = gr.HTML(empty_map, elem_id="map-panel", padding=False)
                        # Points picked in the map's Examples panel: read in the browser at each send (EXAMPLES_JS).
                        map_examples = gr.Textbox(visible=False, elem_id="map-examples")
                        run_examples = gr.Button(
                            "Map from examples",
                            elem_id="examples-run",
                            size="sm",
                            visible=hooks.stream_examples is not None,
                        )
                        with gr.Accordion("Static map (without JavaScript)", open=False):
                            static_map = gr.Image(label="Static map", interactive=False, elem_id="static-map")
                        downloads = gr.File(
                            label="Downloads", file_count="multiple", interactive=False, elem_id="downloads"
                        )
            with gr.Tab("Data", id="data-tab") as data_tab:
                catalog = gr.Dataframe(
                    headers=CATALOG_HEADERS, label="Local catalog", interactive=False, elem_id="catalog"
                )
                catalog_map = gr.HTML(elem_id="catalog-map", padding=False)
                upload = gr.File(
                    label="Add GeoTIFFs to the catalog",
                    file_count="multiple",
                    file_types=[".tif", ".tiff", ".png", ".jpg", ".jp2"],
                    elem_id="upload",
                )
                pixel_size = gr.Number(
                    label="Pixel size in metres, for plain images without georeferencing (optional)",
                    value=None,
                    minimum=0,
                    elem_id="pixel-size",
                )
                ingest = gr.Button("Ingest", elem_id="ingest")
                ingest_report = gr.Markdown(elem_id="ingest-report")
            with gr.Tab("Status", id="status-tab") as status_tab:
                status = gr.Markdown(elem_id="status")
                refresh = gr.Button("Refresh", size="sm")

        outputs = [chatbot, history, question, thread, map_html, static_map, downloads, threads, queue]
        # Every submit lands in the session's queue at once (shown when a turn is running), then the queue runs:
        # a question typed during a turn is asked after it, never dropped.
        enqueue: dict[str, Any] = {
            "fn": chat.enqueue,
            "inputs": [question, map_examples],
            "outputs": [question, queue],
            "show_progress": "hidden",
            "js": EXAMPLES_JS,
        }
        from_examples = {**enqueue, "fn": chat.enqueue_examples, "inputs": [map_examples]}
        run: dict[str, Any] = {"fn": chat.run_queue, "inputs": [history, thread], "outputs": outputs}
        common: dict[str, Any] = {"concurrency_limit": 4, "concurrency_id": "chat", "show_progress_on": [chatbot]}
        for trigger in (
            question.submit(**enqueue, trigger_mode="always_last", queue=False),
            send.click(**enqueue, trigger_mode="always_last", queue=False),
            examples.click(lambda sample: sample[0], inputs=[examples], outputs=[question], queue=False).then(
                **enqueue, queue=False
            ),
            run_examples.click(**from_examples, queue=False),
        ):
            turn = trigger.then(None, js=SCROLL_TO_TURN_JS).then(**run, **common)
            turn.then(None, js=SCROLL_TO_TURN_JS).then(None, js=TITLE_DOWNLOADS_JS)
        # Not Gradio's `cancels`: an abandoned generator would keep the thread's turn slot. The turn stops itself.
        stop.click(chat.stop, outputs=[queue], queue=False, show_progress="hidden")
        new.click(chat.new_thread, outputs=outputs)
        threads.input(chat.open_thread, inputs=[threads], outputs=outputs)
        ingest.click(data.ingest, inputs=[upload, pixel_size], outputs=[ingest_report, catalog, catalog_map]).then(
            data.status_view, outputs=[status]
        )
        data_tab.select(data.catalog_view, outputs=[catalog, catalog_map])
        status_tab.select(data.status_view, outputs=[status])
        refresh.click(data.status_view, outputs=[status])
        demo.load(chat.thread_update, outputs=[threads])
        demo.load(data.catalog_view, outputs=[catalog, catalog_map])
        demo.load(data.status_view, outputs=[status])
        demo.load(lambda: guidance_markdown(hooks), outputs=[guidance])
        ingest.click(lambda: guidance_markdown(hooks), outputs=[guidance])
    return demo
