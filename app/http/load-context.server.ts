import type { AppLoadContext } from "@remix-run/node";
import type { Request, Response } from "express";
import { cspNonceOf } from "./security-headers.server";
import "../services/infra/request.server";

/**
 * What loaders and actions get as `context`. `req.ip` is Express's answer under the app's
 * `trust proxy` setting (TRUST_PROXY): the connection's peer unless it is a trusted proxy.
 */
export function loadContextFor(req: Request, res: Response): AppLoadContext {
  return { ip: req.ip ?? req.socket.remoteAddress ?? "unknown", cspNonce: cspNonceOf(res) };
}
