// A stand-in libnvidia-ml.so.1 for tests on machines without an NVIDIA driver.
//
// Built by gpu/nvml_cgo_test.go with gcc -shared -fPIC against go-nvml's own nvml.h, so every
// struct has the driver's ABI. It presents two GPUs to the real go-nvml cgo bindings (dlopen,
// versioned-symbol lookup, nvmlInit_v2 and the calls below). Environment variables steer it:
//   NVML_STUB_INIT=<code>  nvmlInit_v2 returns <code> instead of NVML_SUCCESS
//   NVML_STUB_LOST=<index> every call on that GPU returns NVML_ERROR_GPU_IS_LOST
//   NVML_STUB_XID=<code>   the first nvmlEventSetWait_v2 reports Xid <code> on GPU 1
//   NVML_STUB_COUNT=<code> nvmlDeviceGetCount_v2 returns <code>, like a driver failing mid-run
//   NVML_STUB_HANG=<path>  nvmlDeviceGetMemoryInfo_v2 blocks while the file <path> exists, like
//                          a wedged driver (a file, so a test can release it from outside)
// With -DOMIT_POWER it does not export nvmlDeviceGetPowerUsage, like an old driver missing a
// function; with -DTEMPERATURE_V_ONLY it exports nvmlDeviceGetTemperatureV instead of the
// deprecated nvmlDeviceGetTemperature, like a future driver. Symbols it never exports on purpose: nvmlDeviceGetRemappedRows, the MIG
// handle calls and the GPM sample calls, so the collector must check before calling them.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nvml.h"

#define NGPU 2

struct nvmlDevice_st {
	unsigned int index;
};
static struct nvmlDevice_st devices[NGPU] = {{0}, {1}};
static struct nvmlEventSet_st {
	int unused;
} eventSet;
static int initialized;
static int xidDelivered;

static int lost(unsigned int index) {
	const char *s = getenv("NVML_STUB_LOST");
	return s != NULL && *s != '\0' && (unsigned int)atoi(s) == index;
}

#define CHECK(d)                                              \
	do {                                                      \
		if (!initialized) return NVML_ERROR_UNINITIALIZED;    \
		if ((d).handle == NULL) return NVML_ERROR_INVALID_ARGUMENT; \
		if (lost((d).handle->index)) return NVML_ERROR_GPU_IS_LOST; \
	} while (0)

nvmlReturn_t nvmlInit_v2(void) {
	const char *s = getenv("NVML_STUB_INIT");
	if (s != NULL && *s != '\0') return (nvmlReturn_t)atoi(s);
	initialized++;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlShutdown(void) {
	if (!initialized) return NVML_ERROR_UNINITIALIZED;
	initialized--;
	return NVML_SUCCESS;
}

const char *nvmlErrorString(nvmlReturn_t r) {
	static char buf[64];
	snprintf(buf, sizeof buf, "stub NVML error %d", (int)r);
	return buf;
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length) {
	if (!initialized) return NVML_ERROR_UNINITIALIZED;
	snprintf(version, length, "580.65.06");
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
	if (!initialized) return NVML_ERROR_UNINITIALIZED;
	const char *s = getenv("NVML_STUB_COUNT");
	if (s != NULL && *s != '\0') return (nvmlReturn_t)atoi(s);
	*count = NGPU;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
	if (!initialized) return NVML_ERROR_UNINITIALIZED;
	if (index >= NGPU) return NVML_ERROR_INVALID_ARGUMENT;
	device->handle = &devices[index];
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char *uuid, unsigned int length) {
	CHECK(d);
	snprintf(uuid, length, "GPU-57ab0000-0000-4000-8000-00000000000%u", d.handle->index);
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char *name, unsigned int length) {
	CHECK(d);
	snprintf(name, length, "NVIDIA Stub GPU");
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t d, nvmlPciInfo_t *pci) {
	CHECK(d);
	memset(pci, 0, sizeof *pci);
	pci->bus = 0x41 + d.handle->index;
	snprintf(pci->busId, sizeof pci->busId, "00000000:%02X:00.0", pci->bus);
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMinorNumber(nvmlDevice_t d, unsigned int *minor) {
	CHECK(d);
	*minor = d.handle->index;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t d, nvmlMemory_v2_t *m) {
	CHECK(d);
	const char *hang = getenv("NVML_STUB_HANG");
	// Bounded, so a broken test cannot leave a process behind for ever.
	for (int i = 0; hang != NULL && *hang != '\0' && access(hang, F_OK) == 0 && i < 6000; i++) usleep(10000);
	// The real library rejects a struct of another version; so does this one.
	if (m->version != nvmlMemory_v2) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
	m->total = 48ULL << 30;
	m->reserved = 512ULL << 20;
	m->used = (40ULL + d.handle->index) << 30;
	m->free = m->total - m->reserved - m->used;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t *u) {
	CHECK(d);
	u->gpu = 40 + d.handle->index;
	u->memory = 20 + d.handle->index;
	return NVML_SUCCESS;
}

#ifdef TEMPERATURE_V_ONLY
nvmlReturn_t nvmlDeviceGetTemperatureV(nvmlDevice_t d, nvmlTemperature_t *t) {
	CHECK(d);
	if (t->version != nvmlTemperature_v1) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
	if (t->sensorType != NVML_TEMPERATURE_GPU) return NVML_ERROR_INVALID_ARGUMENT;
	t->temperature = 50 + (int)d.handle->index;
	return NVML_SUCCESS;
}
#else
nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t d, nvmlTemperatureSensors_t sensor, unsigned int *temp) {
	CHECK(d);
	if (sensor != NVML_TEMPERATURE_GPU) return NVML_ERROR_INVALID_ARGUMENT;
	*temp = 50 + d.handle->index;
	return NVML_SUCCESS;
}
#endif

#ifndef OMIT_POWER
nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned int *power) {
	CHECK(d);
	*power = 250000 + 1000 * d.handle->index;
	return NVML_SUCCESS;
}
#endif

nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t d, unsigned int *limit) {
	CHECK(d);
	*limit = 350000;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t d, unsigned long long *energy) {
	CHECK(d);
	*energy = 123456789ULL + d.handle->index;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t d, nvmlClockType_t type, unsigned int *clock) {
	CHECK(d);
	switch (type) {
	case NVML_CLOCK_SM: *clock = 1755; return NVML_SUCCESS;
	case NVML_CLOCK_MEM: *clock = 9001; return NVML_SUCCESS;
	default: return NVML_ERROR_INVALID_ARGUMENT;
	}
}

nvmlReturn_t nvmlDeviceGetPcieThroughput(nvmlDevice_t d, nvmlPcieUtilCounter_t counter, unsigned int *value) {
	CHECK(d);
	(void)counter;
	(void)value;
	return NVML_ERROR_NOT_SUPPORTED;
}

nvmlReturn_t nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t d, unsigned long long *reasons) {
	CHECK(d);
	*reasons = d.handle->index == 0 ? 0x1ULL /* GPU idle */ : 0x4ULL /* SW power cap */;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t d, nvmlMemoryErrorType_t type, nvmlEccCounterType_t counter,
                                         unsigned long long *count) {
	CHECK(d);
	(void)counter;
	*count = type == NVML_MEMORY_ERROR_TYPE_CORRECTED ? 3 : 0;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t d, unsigned int *count, nvmlProcessInfo_t *infos) {
	CHECK(d);
	if (*count < 1) {
		*count = 1;
		return NVML_ERROR_INSUFFICIENT_SIZE;
	}
	infos[0].pid = 4242 + d.handle->index;
	infos[0].usedGpuMemory = 40ULL << 30;
	infos[0].gpuInstanceId = 0xFFFFFFFF;
	infos[0].computeInstanceId = 0xFFFFFFFF;
	*count = 1;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlSystemGetProcessName(unsigned int pid, char *name, unsigned int length) {
	if (!initialized) return NVML_ERROR_UNINITIALIZED;
	snprintf(name, length, "vllm-%u", pid);
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t d, unsigned int *current, unsigned int *pending) {
	CHECK(d);
	*current = NVML_DEVICE_MIG_DISABLE;
	*pending = NVML_DEVICE_MIG_DISABLE;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlGpmQueryDeviceSupport(nvmlDevice_t d, nvmlGpmSupport_t *support) {
	CHECK(d);
	support->isSupportedDevice = 0;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t *set) {
	if (!initialized) return NVML_ERROR_UNINITIALIZED;
	set->handle = &eventSet;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetSupportedEventTypes(nvmlDevice_t d, unsigned long long *types) {
	CHECK(d);
	*types = nvmlEventTypeXidCriticalError | nvmlEventTypeGpuUnavailableError;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t d, unsigned long long types, nvmlEventSet_t set) {
	CHECK(d);
	if (set.handle != &eventSet || types == 0) return NVML_ERROR_INVALID_ARGUMENT;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeoutms) {
	if (!initialized) return NVML_ERROR_UNINITIALIZED;
	if (set.handle != &eventSet) return NVML_ERROR_INVALID_ARGUMENT;
	const char *x = getenv("NVML_STUB_XID");
	if (x != NULL && *x != '\0' && !__atomic_exchange_n(&xidDelivered, 1, __ATOMIC_SEQ_CST)) {
		memset(data, 0, sizeof *data);
		data->device.handle = &devices[1];
		data->eventType = nvmlEventTypeXidCriticalError;
		data->eventData = (unsigned long long)atoll(x);
		return NVML_SUCCESS;
	}
	usleep(timeoutms * 1000);
	return NVML_ERROR_TIMEOUT;
}

nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set) {
	if (set.handle != &eventSet) return NVML_ERROR_INVALID_ARGUMENT;
	return NVML_SUCCESS;
}
