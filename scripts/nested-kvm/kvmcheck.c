/* kvmcheck: prove that /dev/kvm works and print what the (inner) KVM offers.
 *
 * Built by scripts/nested-kvm/setup.sh (statically, into the initramfs) and
 * run by the nested VM before it reports ready.  Usable on any host too:
 *   cc -O2 -o kvmcheck scripts/nested-kvm/kvmcheck.c && ./kvmcheck
 *
 * It creates a VM with one page of real-mode code that does `out 0x11, al`
 * (al = 0x42) then `hlt`, and checks that KVM_RUN reports exactly those two
 * exits.  Then it prints selected bits of KVM_GET_SUPPORTED_CPUID.
 * Exit status: 0 = KVM works, 1 = it does not (reason on stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static int fail(const char *what)
{
	fprintf(stderr, "kvmcheck: FAIL: %s: %s\n", what, strerror(errno));
	return 1;
}

static const struct kvm_cpuid_entry2 *leaf(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

#define BIT(v, n) (((v) >> (n)) & 1u)

static void print_cpuid(int kvm)
{
	uint32_t n = 256;
	struct kvm_cpuid2 *c = NULL;
	for (;;) {
		c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			return;
		c->nent = n;
		if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c) == 0)
			break;
		free(c);
		if (errno != E2BIG || n > 4096) {
			fprintf(stderr, "kvmcheck: KVM_GET_SUPPORTED_CPUID: %s\n", strerror(errno));
			return;
		}
		n *= 2;
	}
	const struct kvm_cpuid_entry2 *l0 = leaf(c, 0, 0), *l1 = leaf(c, 1, 0), *l7 = leaf(c, 7, 0);
	const struct kvm_cpuid_entry2 *e1 = leaf(c, 0x80000001, 0), *e8 = leaf(c, 0x80000008, 0);
	char vendor[13] = "?";
	if (l0) {
		memcpy(vendor, &l0->ebx, 4);
		memcpy(vendor + 4, &l0->edx, 4);
		memcpy(vendor + 8, &l0->ecx, 4);
		vendor[12] = 0;
	}
	printf("kvmcheck: supported-cpuid: %u entries, vendor=%s max-leaf=0x%x\n", c->nent, vendor,
	       l0 ? l0->eax : 0);
	if (l1)
		printf("kvmcheck:   leaf 1:          ecx=%08x edx=%08x  x2apic=%u hypervisor=%u xsave=%u avx=%u pcid=%u\n",
		       l1->ecx, l1->edx, BIT(l1->ecx, 21), BIT(l1->ecx, 31), BIT(l1->ecx, 26),
		       BIT(l1->ecx, 28), BIT(l1->ecx, 17));
	if (l7)
		printf("kvmcheck:   leaf 7:          ebx=%08x ecx=%08x  smep=%u smap=%u fsgsbase=%u umip=%u la57=%u pku=%u\n",
		       l7->ebx, l7->ecx, BIT(l7->ebx, 7), BIT(l7->ebx, 20), BIT(l7->ebx, 0),
		       BIT(l7->ecx, 2), BIT(l7->ecx, 16), BIT(l7->ecx, 3));
	if (e1)
		printf("kvmcheck:   leaf 0x80000001: ecx=%08x edx=%08x  pdpe1gb(1GiB pages)=%u nx=%u lm=%u rdtscp=%u svm=%u\n",
		       e1->ecx, e1->edx, BIT(e1->edx, 26), BIT(e1->edx, 20), BIT(e1->edx, 29),
		       BIT(e1->edx, 27), BIT(e1->ecx, 2));
	if (e8)
		printf("kvmcheck:   leaf 0x80000008: eax=%08x  phys-addr-bits=%u virt-addr-bits=%u\n", e8->eax,
		       e8->eax & 0xff, (e8->eax >> 8) & 0xff);
	printf("kvmcheck: summary: vendor=%s 1gb-pages=%u smap=%u smep=%u\n", vendor,
	       e1 ? BIT(e1->edx, 26) : 0, l7 ? BIT(l7->ebx, 20) : 0, l7 ? BIT(l7->ebx, 7) : 0);
	free(c);
}

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open /dev/kvm");
	int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		fprintf(stderr, "kvmcheck: FAIL: KVM API version %d\n", api);
		return 1;
	}
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	uint8_t *mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap");
	static const uint8_t code[] = { 0xb0, 0x42, 0xe6, 0x11, 0xf4 }; /* mov al,0x42; out 0x11,al; hlt */
	memcpy(mem, code, sizeof code);
	struct kvm_userspace_memory_region r = {
		.slot = 0, .guest_phys_addr = 0x1000, .memory_size = 0x1000, .userspace_addr = (uintptr_t)mem
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	int sz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz <= 0)
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	struct kvm_run *run = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap vcpu");
	struct kvm_sregs s;
	if (ioctl(vcpu, KVM_GET_SREGS, &s) < 0)
		return fail("KVM_GET_SREGS");
	s.cs.base = 0;
	s.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &s) < 0)
		return fail("KVM_SET_SREGS");
	struct kvm_regs g = { .rip = 0x1000, .rflags = 2 };
	if (ioctl(vcpu, KVM_SET_REGS, &g) < 0)
		return fail("KVM_SET_REGS");
	if (ioctl(vcpu, KVM_RUN, 0) < 0)
		return fail("KVM_RUN #1");
	if (run->exit_reason != KVM_EXIT_IO || run->io.port != 0x11 ||
	    ((uint8_t *)run)[run->io.data_offset] != 0x42) {
		fprintf(stderr, "kvmcheck: FAIL: unexpected exit %u (wanted IO port 0x11 = 0x42)\n", run->exit_reason);
		return 1;
	}
	if (ioctl(vcpu, KVM_RUN, 0) < 0)
		return fail("KVM_RUN #2");
	if (run->exit_reason != KVM_EXIT_HLT) {
		fprintf(stderr, "kvmcheck: FAIL: unexpected exit %u (wanted HLT)\n", run->exit_reason);
		return 1;
	}
	printf("kvmcheck: OK: KVM API %d, KVM_RUN gave OUT 0x11=0x42 then HLT\n", api);
	print_cpuid(kvm);
	return 0;
}
