/*
 * health.h -- the load balancer's health endpoint (health.c), answered by
 * server_access.c before routing.
 */
#ifndef COT_HEALTH_H
#define COT_HEALTH_H

#include <stdbool.h>

#include "../include/cot.h"

#define HEALTH_PATH "/_cot/health"

/* Whether the request is GET or HEAD of HEALTH_PATH. */
bool health_is_path(const char *method, const char *url);

/* Fills c's response: 200 when serving and the database answers, 503
 * while draining or when the database does not. */
void health_respond(cot_ctx *c, bool draining);

#endif
