/*
 * task.h -- background tasks (task.c): what cot_spawn queued runs after the
 * response is sent, on the task threads.
 */
#ifndef COT_TASK_H
#define COT_TASK_H

#include "../include/cot.h"

void task_submit(cot_ctx *c);
void task_shutdown(void);

#endif /* COT_TASK_H */
