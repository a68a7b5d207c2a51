/**
 * Cleanup steps, run last-in first-out; every one runs even when another fails. One failure is thrown as it was;
 * several as an AggregateError naming each step. `run()` empties the list, so a second call does nothing.
 */
export class Teardown {
  readonly #steps: { readonly what: string; readonly run: () => Promise<void> }[] = [];

  add(what: string, run: () => Promise<void>): void {
    this.#steps.push({ what, run });
  }

  async run(): Promise<void> {
    const failures: { readonly what: string; readonly error: unknown }[] = [];
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step.run();
      } catch (error) {
        failures.push({ what: step.what, error });
      }
    }
    const [only] = failures;
    if (failures.length === 1 && only !== undefined) throw only.error;
    if (failures.length > 1) {
      const why = failures.map((f) => `${f.what}: ${f.error instanceof Error ? f.error.message : String(f.error)}`).join('; ');
      throw new AggregateError(
        failures.map((f) => f.error),
        `${failures.length} cleanup steps failed: ${why}`,
      );
    }
  }
}
