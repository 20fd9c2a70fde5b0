"""Sphinx extension: write each inline script once per page.

Sphinx 7 lists an inline script twice when an extension registers it after the builder has
started (sphinx-thebe, sphinx-togglebutton): the second copy of `const THEBE_JS_URL = ...`
throws "Identifier 'THEBE_JS_URL' has already been declared" in every page's console.
"""


def _unique_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (script.filename or "", tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
