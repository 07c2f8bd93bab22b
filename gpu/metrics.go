package gpu

import "github.com/prometheus/client_golang/prometheus"

// Label sets. The native family names a GPU the way contracts.md says; the DCGM family copies
// dcgm-exporter's labels so that NVIDIA's Grafana dashboard (grafana.com 12239) works.
var (
	nativeLabels = []string{"gpu", "uuid", "name", "pci_bus_id"}
	dcgmLabels   = []string{"gpu", "UUID", "device", "modelName", "Hostname", "pci_bus_id", "DCGM_FI_DRIVER_VERSION"}
)

// clockReasons names each clock event ("throttle") reason bit, in nvml.h order.
var clockReasons = []struct {
	bit  uint64
	name string
}{
	{ClockReasonGPUIdle, "gpu_idle"},
	{ClockReasonApplicationsClocksSetting, "applications_clocks_setting"},
	{ClockReasonSWPowerCap, "sw_power_cap"},
	{ClockReasonHWSlowdown, "hw_slowdown"},
	{ClockReasonSyncBoost, "sync_boost"},
	{ClockReasonSWThermalSlowdown, "sw_thermal_slowdown"},
	{ClockReasonHWThermalSlowdown, "hw_thermal_slowdown"},
	{ClockReasonHWPowerBrakeSlowdown, "hw_power_brake_slowdown"},
	{ClockReasonDisplayClockSetting, "display_clock_setting"},
}

// nativeDescs are the Prometheus-style series, built once per collector.
type nativeDescs struct {
	up, deviceUp, info                                   *prometheus.Desc
	vramUsed, vramTotal, vramFree, vramReserved          *prometheus.Desc
	computeUtil, memBWUtil                               *prometheus.Desc
	temperature, powerDraw, powerLimit, energy           *prometheus.Desc
	smClock, memClock, pcie, throttle                    *prometheus.Desc
	ecc, remappedRows, remapPending, remapFailed         *prometheus.Desc
	processMemory                                        *prometheus.Desc
	migEnabled, migInfo, migVRAMUsed, migVRAMTotal       *prometheus.Desc
	gpmGraphics, gpmSM, gpmOccupancy, gpmTensor, gpmDRAM *prometheus.Desc
	xidErrors, xidLast                                   *prometheus.Desc
}

func labels(extra ...string) []string {
	return append(append([]string{}, nativeLabels...), extra...)
}

func newNativeDescs() nativeDescs {
	d := func(name, help string, extra ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels(extra...), nil)
	}
	return nativeDescs{
		up: prometheus.NewDesc("tokenpath_gpu_up",
			"1 when NVML is initialised and lists the GPUs, 0 when it is not usable (no driver, no cgo, version mismatch).", nil, nil),
		deviceUp: d("tokenpath_gpu_device_up",
			"1 when the GPU answers NVML, 0 when it is lost (ERROR_GPU_IS_LOST, Xid 79) or fails to identify itself."),
		info:         d("gpu_info", "GPU identity; always 1.", "driver_version"),
		vramUsed:     d("gpu_vram_used_bytes", "Framebuffer memory allocated by processes, in bytes (nvmlDeviceGetMemoryInfo_v2 used)."),
		vramTotal:    d("gpu_vram_total_bytes", "Total framebuffer memory, in bytes."),
		vramFree:     d("gpu_vram_free_bytes", "Free framebuffer memory, in bytes."),
		vramReserved: d("gpu_vram_reserved_bytes", "Framebuffer memory reserved by the driver and firmware, in bytes."),
		computeUtil: d("gpu_compute_utilization",
			"Percent (0-100) of the last sample window in which at least one kernel ran (NVML utilization.gpu); busy time, not SM occupancy."),
		memBWUtil: d("gpu_memory_bandwidth_utilization",
			"Percent (0-100) of the last sample window in which device memory was read or written (NVML utilization.memory)."),
		temperature: d("gpu_temperature_celsius", "GPU core temperature in degrees Celsius."),
		powerDraw:   d("gpu_power_draw_watts", "Board power draw in watts."),
		powerLimit:  d("gpu_power_limit_watts", "Power limit the driver enforces, in watts."),
		energy:      d("gpu_energy_joules_total", "Energy used since the driver was loaded, in joules."),
		smClock:     d("gpu_sm_clock_hertz", "Current SM clock in hertz."),
		memClock:    d("gpu_memory_clock_hertz", "Current memory clock in hertz."),
		pcie: d("gpu_pcie_throughput_bytes_per_second",
			"PCIe traffic over a 20 ms window, in bytes per second.", "direction"),
		throttle: d("gpu_clock_throttle_active",
			"1 when the clocks are held down for this reason (NVML clocks event reasons), else 0.", "reason"),
		ecc: d("gpu_ecc_errors_total",
			"ECC errors since the driver was loaded (volatile counters).", "type"),
		remappedRows: d("gpu_remapped_rows_total", "HBM rows remapped, by cause.", "type"),
		remapPending: d("gpu_row_remap_pending", "1 when a row remap is pending and the GPU needs a reset."),
		remapFailed:  d("gpu_row_remap_failed", "1 when a row remap has failed."),
		processMemory: d("gpu_process_memory_used_bytes",
			"GPU memory used by a process with a compute context, in bytes.", "pid", "process_name"),
		migEnabled: d("gpu_mig_enabled", "1 when MIG mode is on."),
		migInfo: d("gpu_mig_info", "A MIG instance of the GPU; always 1.",
			"mig_uuid", "gpu_instance_id", "compute_instance_id"),
		migVRAMUsed: d("gpu_mig_vram_used_bytes", "Framebuffer memory used in a MIG instance, in bytes.",
			"mig_uuid", "gpu_instance_id", "compute_instance_id"),
		migVRAMTotal: d("gpu_mig_vram_total_bytes", "Framebuffer memory of a MIG instance, in bytes.",
			"mig_uuid", "gpu_instance_id", "compute_instance_id"),
		gpmGraphics: d("gpu_gpm_graphics_activity_percent",
			"GPM: percent of time a graphics or compute context was active, between the last two scrapes (Hopper+)."),
		gpmSM: d("gpu_gpm_sm_activity_percent",
			"GPM: percent of time SMs had at least one resident warp, averaged over SMs (Hopper+)."),
		gpmOccupancy: d("gpu_gpm_sm_occupancy_percent",
			"GPM: resident warps as a percent of the theoretical maximum (Hopper+)."),
		gpmTensor: d("gpu_gpm_tensor_activity_percent",
			"GPM: percent of cycles any tensor pipe was busy (Hopper+)."),
		gpmDRAM: d("gpu_gpm_dram_bandwidth_utilization_percent",
			"GPM: percent of the theoretical DRAM bandwidth in use; about 80 is the practical ceiling (Hopper+)."),
		xidErrors: d("gpu_xid_errors_total", "Xid critical errors seen since tokenpath started, by Xid code.", "xid"),
		xidLast: d("gpu_xid_last_timestamp_seconds",
			"Unix time of the last Xid error with this code; alert on time() minus this rather than on increase().", "xid"),
	}
}

// dcgmDescs are dcgm-exporter's names, units and labels.
type dcgmDescs struct {
	fbUsed, fbFree, fbReserved, gpuUtil, memCopyUtil, gpuTemp, power, powerLimit, energy *prometheus.Desc
	smClock, memClock, pcieTX, pcieRX, clockReasons, eccSBE, eccDBE                      *prometheus.Desc
	remapCorr, remapUnc, remapFailure, xid                                               *prometheus.Desc
	grEngine, smActive, smOccupancy, tensor, dram                                        *prometheus.Desc
}

func newDCGMDescs() dcgmDescs {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, dcgmLabels, nil)
	}
	return dcgmDescs{
		fbUsed:       d("DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB)."),
		fbFree:       d("DCGM_FI_DEV_FB_FREE", "Framebuffer memory free (in MiB)."),
		fbReserved:   d("DCGM_FI_DEV_FB_RESERVED", "Framebuffer memory reserved (in MiB)."),
		gpuUtil:      d("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %)."),
		memCopyUtil:  d("DCGM_FI_DEV_MEM_COPY_UTIL", "Memory utilization (in %)."),
		gpuTemp:      d("DCGM_FI_DEV_GPU_TEMP", "GPU temperature (in C)."),
		power:        d("DCGM_FI_DEV_POWER_USAGE", "Power draw (in W)."),
		powerLimit:   d("DCGM_FI_DEV_ENFORCED_POWER_LIMIT", "Enforced power limit (in W)."),
		energy:       d("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "Total energy consumption since boot (in mJ)."),
		smClock:      d("DCGM_FI_DEV_SM_CLOCK", "SM clock frequency (in MHz)."),
		memClock:     d("DCGM_FI_DEV_MEM_CLOCK", "Memory clock frequency (in MHz)."),
		pcieTX:       d("DCGM_FI_PROF_PCIE_TX_BYTES", "The rate of data transmitted over the PCIe bus (in B/s)."),
		pcieRX:       d("DCGM_FI_PROF_PCIE_RX_BYTES", "The rate of data received over the PCIe bus (in B/s)."),
		clockReasons: d("DCGM_FI_DEV_CLOCKS_EVENT_REASONS", "Current clock event reasons (bitmask)."),
		eccSBE:       d("DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", "Total number of single-bit volatile ECC errors."),
		eccDBE:       d("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "Total number of double-bit volatile ECC errors."),
		remapCorr:    d("DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", "Number of remapped rows for correctable errors."),
		remapUnc:     d("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "Number of remapped rows for uncorrectable errors."),
		remapFailure: d("DCGM_FI_DEV_ROW_REMAP_FAILURE", "Whether remapping of rows has failed."),
		xid:          d("DCGM_FI_DEV_XID_ERRORS", "Value of the last XID error encountered."),
		grEngine:     d("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "Ratio of time the graphics engine is active."),
		smActive:     d("DCGM_FI_PROF_SM_ACTIVE", "The ratio of cycles an SM has at least 1 warp assigned."),
		smOccupancy:  d("DCGM_FI_PROF_SM_OCCUPANCY", "The ratio of number of warps resident on an SM."),
		tensor:       d("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "Ratio of cycles the tensor (HMMA) pipe is active."),
		dram:         d("DCGM_FI_PROF_DRAM_ACTIVE", "Ratio of cycles the device memory interface is active sending or receiving data."),
	}
}

func (n *nativeDescs) all() []*prometheus.Desc {
	return []*prometheus.Desc{
		n.up, n.deviceUp, n.info, n.vramUsed, n.vramTotal, n.vramFree, n.vramReserved,
		n.computeUtil, n.memBWUtil, n.temperature, n.powerDraw, n.powerLimit, n.energy, n.smClock, n.memClock,
		n.pcie, n.throttle, n.ecc, n.remappedRows, n.remapPending, n.remapFailed, n.processMemory,
		n.migEnabled, n.migInfo, n.migVRAMUsed, n.migVRAMTotal, n.gpmGraphics, n.gpmSM, n.gpmOccupancy,
		n.gpmTensor, n.gpmDRAM, n.xidErrors, n.xidLast,
	}
}

func (d *dcgmDescs) all() []*prometheus.Desc {
	return []*prometheus.Desc{
		d.fbUsed, d.fbFree, d.fbReserved, d.gpuUtil, d.memCopyUtil, d.gpuTemp, d.power,
		d.powerLimit, d.energy, d.smClock, d.memClock, d.pcieTX, d.pcieRX, d.clockReasons, d.eccSBE, d.eccDBE,
		d.remapCorr, d.remapUnc, d.remapFailure, d.xid, d.grEngine, d.smActive, d.smOccupancy, d.tensor, d.dram,
	}
}
