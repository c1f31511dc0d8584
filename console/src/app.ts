// The shell (header, navigation, main, a live region) and the hash router: the server
// serves one index, each `#/path?query` picks a page, and a page renders into <main>.
import { currentSession, endSession, whenUnauthenticated } from "./api";
import { h, replace } from "./dom";

export interface Route {
  path: string[];
  params: URLSearchParams;
}

export type Page = (main: HTMLElement, route: Route) => Promise<void> | void;

const NAVIGATION: [string, string][] = [
  ["#/overview", "Overview"],
  ["#/schedules", "Schedules"],
  ["#/runs", "Runs"],
  ["#/webhooks", "Webhooks"],
];

let statusRegion: HTMLElement | null = null;
// A message outlives the one navigation that follows it ("Created …" on the new page),
// not the next.
let freshMessage = false;

/** Tells screen readers (and the eye) what just happened: "Paused 3 schedules". */
export function announce(message: string, tone: "info" | "error" = "info"): void {
  if (!statusRegion) return;
  statusRegion.className = `status status-${tone}`;
  statusRegion.textContent = message;
  freshMessage = true;
}

function ageMessage(): void {
  if (!freshMessage && statusRegion) statusRegion.textContent = "";
  freshMessage = false;
}

export function parseHash(hash: string): Route {
  const [path, query] = hash.replace(/^#\/?/, "").split("?", 2);
  return { path: path ? path.split("/").map(decodeURIComponent) : [], params: new URLSearchParams(query ?? "") };
}

export function link(href: string, text: string, attrs: Record<string, unknown> = {}): HTMLAnchorElement {
  return h("a", { href, ...attrs }, text);
}

export function go(hash: string): void {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

export function startApp(root: HTMLElement, resolve: (route: Route) => Page): void {
  const nav = h("nav", { "aria-label": "Main" }, h("ul", {}, NAVIGATION.map(([href, text]) => h("li", {}, link(href, text)))));
  const who = h("p", { class: "who" });
  const signOut = h("button", { type: "button", class: "secondary" }, "Sign out");
  signOut.addEventListener("click", () => {
    endSession();
    go("#/sign-in");
  });
  const switchWorkspace = link("#/sign-in", "Switch workspace", { class: "switch" });
  const header = h("header", { class: "top" }, h("p", { class: "brand" }, link("#/schedules", "Sundial")), nav, who, switchWorkspace, signOut);
  const main = h("main", { id: "main", tabindex: "-1" });
  statusRegion = h("div", { role: "status", "aria-live": "polite", class: "status" });
  replace(root, header, statusRegion, main);
  whenUnauthenticated(() => {
    endSession();
    go("#/sign-in");
  });

  let rendering = 0;
  const render = async (): Promise<void> => {
    // "#main" is the skip link's own target, not a route.
    if (location.hash === "#main") return;
    const route = parseHash(location.hash);
    const session = currentSession();
    if (!session && route.path[0] !== "sign-in") {
      go("#/sign-in");
      return;
    }
    if (!route.path.length) {
      go("#/schedules");
      return;
    }
    const signedIn = Boolean(session);
    nav.hidden = !signedIn;
    signOut.hidden = !signedIn;
    switchWorkspace.hidden = !signedIn;
    if (session) switchWorkspace.href = `#/sign-in?workspace=${encodeURIComponent(session.workspace)}`;
    who.textContent = session ? `Workspace ${session.workspace}` : "";
    for (const anchor of nav.querySelectorAll("a")) {
      const current = anchor.getAttribute("href") === `#/${route.path[0]}`;
      if (current) anchor.setAttribute("aria-current", "page");
      else anchor.removeAttribute("aria-current");
    }
    ageMessage();
    rendering += 1;
    const mine = rendering;
    const page = h("div", { class: "page" });
    replace(main, h("p", { class: "loading" }, "Loading…"));
    try {
      await resolve(route)(page, route);
    } catch (error) {
      replace(page, h("h1", {}, "Something went wrong"), h("p", { class: "error" }, (error as Error).message));
    }
    if (mine !== rendering) return;
    replace(main, page);
    const heading = page.querySelector("h1");
    if (heading) {
      document.title = `${heading.textContent} · Sundial console`;
      // After a navigation (not the first load), a screen reader starts at the new page.
      if (mine > 1) {
        heading.setAttribute("tabindex", "-1");
        heading.focus({ preventScroll: false });
      }
    }
  };
  window.addEventListener("hashchange", () => void render());
  void render();
}
