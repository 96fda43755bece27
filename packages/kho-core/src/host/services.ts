/**
 * Typed keys into a kernel's tsyringe container. A service is single-valued:
 * one plugin provides it (declared in its `provides`), dependents resolve
 * it. A registry is a multi-registration: any plugin registers values
 * (LUO's file handlers, a memfd handler plugin depending on LUO), the owner
 * resolves them all.
 */
export interface ServiceToken<T> {
  readonly kind: "service";
  readonly key: symbol;
  readonly description: string;
  /** Carries T for inference only; never set. */
  readonly _type?: T;
}

export interface RegistryToken<T> {
  readonly kind: "registry";
  readonly key: symbol;
  readonly description: string;
  /** Carries T for inference only; never set. */
  readonly _type?: T;
}

export function serviceToken<T>(name: string): ServiceToken<T> {
  return { kind: "service", key: Symbol.for(`khosim.service.${name}`), description: name };
}

export function registryToken<T>(name: string): RegistryToken<T> {
  return { kind: "registry", key: Symbol.for(`khosim.registry.${name}`), description: name };
}
