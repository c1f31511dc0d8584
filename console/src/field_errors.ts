// google.rpc.BadRequest's field violations shown at the fields they name: each control
// claims field paths (`spec.schedule.timezone`, `text`), and a violation of a path or of
// anything under it lands in that control's error line, which the control is described by.
import type { ApiError, FieldViolation } from "./api";

export type FieldTargets = [path: string, control: HTMLElement][];

function errorLine(control: HTMLElement): HTMLElement | null {
  return document.getElementById(`${control.id}-error`) ?? control.parentElement?.querySelector(".field-error") ?? null;
}

function claims(path: string, field: string): boolean {
  return field === path || field.startsWith(`${path}.`) || field.startsWith(`${path}[`);
}

export function clearErrors(targets: FieldTargets, fallback: HTMLElement): void {
  for (const [, control] of targets) {
    control.removeAttribute("aria-invalid");
    const line = errorLine(control);
    if (line) line.textContent = "";
  }
  fallback.textContent = "";
}

/** Shows `error` at its fields; what no field claims goes to `fallback`. */
export function showErrors(targets: FieldTargets, error: ApiError, fallback: HTMLElement): void {
  clearErrors(targets, fallback);
  const unclaimed: FieldViolation[] = [];
  for (const violation of error.violations) {
    const target = targets.find(([path]) => claims(path, violation.field));
    const line = target ? errorLine(target[1]) : null;
    if (!target || !line) {
      unclaimed.push(violation);
      continue;
    }
    target[1].setAttribute("aria-invalid", "true");
    line.textContent = line.textContent ? `${line.textContent} ${violation.description}` : violation.description;
  }
  if (!error.violations.length) fallback.textContent = error.message;
  else if (unclaimed.length) fallback.textContent = unclaimed.map((item) => `${item.field}: ${item.description}`).join("; ");
}
