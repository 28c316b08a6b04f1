package api_test

import (
	"net/http"
)

// exerciseDebugger answers every debugger route of the contract test, with
// the orders flow stored: flow and job breakpoints, a stop, its session,
// call stack, variables, evaluate and the four commands.
func exerciseDebugger(c *contract) {
	c.t.Helper()
	bp := c.object(c.post(http.StatusCreated, "/api/flows/orders/breakpoints", jsonCT,
		`{"type": "routine", "routine_id": "double", "condition": "data.value > 1"}`))
	flowBP, _ := bp["breakpoint_id"].(string)
	c.post(http.StatusBadRequest, "/api/flows/orders/breakpoints", jsonCT, `{"routine_id": "double", "condition": "data.value >"}`)
	c.post(http.StatusUnprocessableEntity, "/api/flows/orders/breakpoints", jsonCT, `{"routine_id": "ghost"}`)
	c.post(http.StatusNotFound, "/api/flows/ghost/breakpoints", jsonCT, `{"routine_id": "double"}`)
	c.get(http.StatusOK, "/api/flows/orders/breakpoints")
	c.put(http.StatusOK, "/api/flows/orders/breakpoints/"+flowBP, jsonCT, `{"hit_condition": ">= 1"}`)

	job := c.startJob(`{"flow_id": "orders", "params": {"value": 2}}`)
	c.waitJob(job, "paused")
	c.get(http.StatusOK, "/api/jobs/"+job+"/breakpoints")
	own := c.object(c.post(http.StatusCreated, "/api/jobs/"+job+"/breakpoints", jsonCT,
		`{"type": "event", "routine_id": "note", "event_name": "output"}`))
	ownID, _ := own["breakpoint_id"].(string)
	c.put(http.StatusOK, "/api/jobs/"+job+"/breakpoints/"+ownID, jsonCT, `{"enabled": false}`)
	c.send(http.StatusNoContent, http.MethodDelete, "/api/jobs/"+job+"/breakpoints/"+ownID, "", "", false)
	c.send(http.StatusNotFound, http.MethodDelete, "/api/jobs/"+job+"/breakpoints/"+ownID, "", "", false)
	c.post(http.StatusCreated, "/api/jobs/"+job+"/breakpoints", jsonCT, `{"routine_id": "done"}`)

	session := c.object(c.get(http.StatusOK, "/api/jobs/"+job+"/debug/session"))
	pause, _ := session["pause_id"].(string)
	c.get(http.StatusOK, "/api/jobs/"+job+"/debug/call-stack")
	c.get(http.StatusOK, "/api/jobs/"+job+"/debug/variables?frame_index=0")
	c.get(http.StatusBadRequest, "/api/jobs/"+job+"/debug/variables?frame_index=9")
	c.put(http.StatusOK, "/api/jobs/"+job+"/debug/variables/data.value", jsonCT, `{"value": 5, "pause_id": "`+pause+`"}`)
	c.post(http.StatusOK, "/api/jobs/"+job+"/debug/evaluate", jsonCT, `{"expression": "data.value * 3"}`)
	c.post(http.StatusConflict, "/api/jobs/"+job+"/debug/step-over", jsonCT, `{"pause_id": "pause_0"}`)
	c.post(http.StatusOK, "/api/jobs/"+job+"/debug/step-into", jsonCT, `{"pause_id": "`+pause+`"}`)
	// A command answers once the job runs again; wait for the next stop.
	c.waitJob(job, "paused")
	// Over runs to the breakpoint on done.
	c.post(http.StatusOK, "/api/jobs/"+job+"/debug/step-over", "", "")
	c.waitJob(job, "paused")
	c.post(http.StatusOK, "/api/jobs/"+job+"/debug/step-out", "", "")
	c.waitJob(job, "completed")
	c.post(http.StatusConflict, "/api/jobs/"+job+"/debug/resume", "", "")
	c.post(http.StatusConflict, "/api/jobs/"+job+"/breakpoints", jsonCT, `{"routine_id": "double"}`)
	// Deleting the finished job deletes its breakpoints and history with it.
	c.send(http.StatusNoContent, http.MethodDelete, "/api/jobs/"+job, "", "", false)
	c.get(http.StatusNotFound, "/api/jobs/"+job+"/breakpoints")
	c.get(http.StatusNotFound, "/api/jobs/"+job+"/state")
	c.get(http.StatusNotFound, "/api/jobs/"+job+"/events")
	c.send(http.StatusNotFound, http.MethodDelete, "/api/jobs/"+job, "", "", false)

	again := c.startJob(`{"flow_id": "orders", "params": {"value": 3}}`)
	c.waitJob(again, "paused")
	c.send(http.StatusConflict, http.MethodDelete, "/api/jobs/"+again, "", "", false)
	c.post(http.StatusOK, "/api/jobs/"+again+"/debug/resume", "", "")
	c.waitJob(again, "completed")
	c.send(http.StatusNoContent, http.MethodDelete, "/api/flows/orders/breakpoints/"+flowBP, "", "", false)
	c.get(http.StatusNotFound, "/api/jobs/j_ghost/debug/session")

	checked := c.object(c.post(http.StatusOK, "/api/expressions/check", jsonCT, `{"expression": "data.x >", "as": "condition"}`))
	if checked["ok"] != false || checked["error"] == nil {
		c.t.Errorf("check: %v", checked)
	}
	c.post(http.StatusOK, "/api/expressions/check", jsonCT, `{"expression": "hello {{ data.x }}", "as": "template"}`)
	c.post(http.StatusBadRequest, "/api/expressions/check", jsonCT, `{"expression": "1", "as": "sql"}`)

	// Synchronous runs: the ended job, or the running one once wait is up.
	ended := c.object(c.post(http.StatusCreated, "/api/jobs?wait=20s", jsonCT, `{"flow_id": "orders", "params": {"value": 4}}`))
	if ended["status"] != "completed" || ended["result"] == nil {
		c.t.Errorf("synchronous run: %v", ended)
	}
	c.post(http.StatusAccepted, "/api/jobs?wait=10ms", jsonCT, `{"flow_id": "slow", "params": {}}`)
	c.post(http.StatusBadRequest, "/api/jobs?wait=forever", jsonCT, `{"flow_id": "orders"}`)
	c.post(http.StatusBadRequest, "/api/jobs?wait=11m", jsonCT, `{"flow_id": "orders"}`)
}
