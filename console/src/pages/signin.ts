// Sign in: an API key's secret or a bearer token (JWT), and the workspace to work in. The
// credential is checked with one read before it is kept for this tab.
import { ApiError, call, currentSession, saveSession, ws } from "../api";
import { announce, go, type Route } from "../app";
import { field, h, replace } from "../dom";

export function signInPage(page: HTMLElement, route: Route): void {
  const token = h("input", { type: "password", name: "token", autocomplete: "off", required: true, spellcheck: "false" });
  const workspace = h("input", {
    type: "text",
    name: "workspace",
    required: true,
    spellcheck: "false",
    value: route.params.get("workspace") ?? currentSession()?.workspace ?? "",
    placeholder: "ws_…",
  });
  const problem = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    { class: "card narrow", novalidate: true },
    field("API key", token, "An API key's secret (sdl_…) or a bearer token; kept for this browser tab only."),
    field("Workspace", workspace, "The workspace ID, e.g. the default workspace that sundial serve printed at its first start."),
    problem,
    h("button", { type: "submit" }, "Sign in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.textContent = "";
    const session = { token: token.value.trim(), workspace: workspace.value.trim() };
    if (!session.token || !session.workspace) {
      problem.textContent = !session.token ? "Enter an API key or token." : "Enter a workspace ID.";
      (!session.token ? token : workspace).focus();
      return;
    }
    try {
      await call("GET", ws("/schedules", session), { query: { pageSize: 1 }, session });
    } catch (error) {
      problem.textContent =
        error instanceof ApiError && error.httpStatus === 401
          ? "That key or token was not accepted."
          : `Cannot sign in: ${(error as Error).message}`;
      return;
    }
    saveSession(session);
    announce(`Signed in to workspace ${session.workspace}.`);
    go("#/schedules");
  });
  replace(page, h("h1", {}, "Sign in to Sundial"), form);
}
