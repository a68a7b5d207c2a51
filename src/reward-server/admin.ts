/**
 * Admin commands of the reward server (`load_checkpoint`, `rollback`, `checkpoint_status`): checks the admin token
 * every request carries (constant time; ADMIN_FORBIDDEN when it is wrong or the server has none), then drives the
 * checkpoint manager and turns the outcome into one answer message. Never throws: failures become `error` messages.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Logger } from '../common/logger.js';
import { VrGrpoError, assertNever, isVrGrpoError } from '../errors/index.js';
import type { AdminRequest, ServerMessage } from '../protocol/index.js';
import type { CheckpointManager, SwapResult } from './checkpoint-manager.js';
import { sourceOfRequest } from './checkpoint-source.js';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

export class AdminCommands {
  readonly #expected: Buffer | null;
  readonly #checkpoints: CheckpointManager | null;
  readonly #log: Logger;

  /** `adminToken` null disables every admin command (ADMIN_FORBIDDEN); `checkpoints` null: swapping is not enabled. */
  constructor(adminToken: string | null, checkpoints: CheckpointManager | null, log: Logger) {
    this.#expected = adminToken === null ? null : digest(adminToken);
    this.#checkpoints = checkpoints;
    this.#log = log;
  }

  /** Handles one admin request; `draining` refuses loads and rollbacks with SHUTTING_DOWN. Resolves with the answer. */
  async handle(request: AdminRequest, draining: boolean): Promise<ServerMessage> {
    try {
      this.#authorize(request);
      const checkpoints = this.#checkpoints;
      if (checkpoints === null) throw new VrGrpoError('INVALID_REQUEST', `${request.type}: checkpoint swapping is not enabled on this server`);
      switch (request.type) {
        case 'checkpoint_status':
          return { type: 'checkpoint_status', id: request.id, ...checkpoints.status() };
        case 'load_checkpoint': {
          if (draining) throw new VrGrpoError('SHUTTING_DOWN', 'the server is draining; no checkpoint swaps');
          this.#log.info({ id: request.id, source: request.checkpoint ?? `${request.model ?? ''}@${request.baseUrl ?? ''}` }, 'admin: load_checkpoint');
          const result = await checkpoints.load(sourceOfRequest(request), {
            origin: 'admin',
            ...(request.agreementFloor === undefined ? {} : { agreementFloor: request.agreementFloor }),
          });
          return swapped(request.id, result);
        }
        case 'rollback': {
          if (draining) throw new VrGrpoError('SHUTTING_DOWN', 'the server is draining; no checkpoint swaps');
          this.#log.info({ id: request.id }, 'admin: rollback');
          return swapped(request.id, await checkpoints.rollback());
        }
        default:
          return assertNever(request, 'admin request');
      }
    } catch (error) {
      const failure = isVrGrpoError(error)
        ? error
        : new VrGrpoError('JUDGE_FAILED', `admin ${request.type} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      return { type: 'error', id: request.id, code: failure.code, message: failure.message };
    }
  }

  #authorize(request: AdminRequest): void {
    if (this.#expected === null) {
      throw new VrGrpoError(
        'ADMIN_FORBIDDEN',
        `${request.type}: admin commands are disabled on this server (no admin token configured: VRGRPO_ADMIN_TOKEN or rewardServer.adminToken)`,
      );
    }
    if (request.adminToken === undefined || request.adminToken === '') {
      this.#log.warn({ id: request.id, type: request.type }, 'admin command refused: no admin token');
      throw new VrGrpoError('ADMIN_FORBIDDEN', `${request.type}: this command needs the admin token (field adminToken)`);
    }
    // Hashing first gives equal-length buffers, so the comparison time does not depend on the token's length.
    if (!timingSafeEqual(digest(request.adminToken), this.#expected)) {
      this.#log.warn({ id: request.id, type: request.type }, 'admin command refused: wrong admin token');
      throw new VrGrpoError('ADMIN_FORBIDDEN', `${request.type}: wrong admin token`);
    }
  }
}

function swapped(id: string, result: SwapResult): ServerMessage {
  return {
    type: 'checkpoint_swapped',
    id,
    action: result.action,
    rmVersion: result.rmVersion,
    previousVersion: result.previousVersion,
    canary: result.canary,
    ms: result.ms,
  };
}
