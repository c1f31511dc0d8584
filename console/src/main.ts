// The console's entry: the shell, and which page each hash route shows.
import { startApp, type Page, type Route } from "./app";
import { h, replace } from "./dom";
import { overviewPage } from "./pages/overview";
import { comparePage, runPage, runsPage } from "./pages/runs";
import { newSchedulePage } from "./pages/new_schedule";
import { schedulePage } from "./pages/schedule";
import { schedulesPage } from "./pages/schedules";
import { signInPage } from "./pages/signin";
import { webhookPage, webhooksPage } from "./pages/webhooks";

const notFound: Page = (page, route) => replace(page, h("h1", {}, "Not found"), h("p", {}, `No page at #/${route.path.join("/")}.`));

function resolve(route: Route): Page {
  const [first, second] = route.path;
  switch (first) {
    case "sign-in":
      return signInPage;
    case "overview":
      return overviewPage;
    case "schedules":
      return second === "new" ? newSchedulePage : second ? schedulePage : schedulesPage;
    case "runs":
      return second ? runPage : runsPage;
    case "compare":
      return comparePage;
    case "webhooks":
      return second ? webhookPage : webhooksPage;
    default:
      return notFound;
  }
}

const root = document.getElementById("app");
if (root) startApp(root, resolve);
